"""Every Python snippet of README.md and of the documentation pages runs as written.

Each page is one test: its ```python blocks run top to bottom in one fresh namespace (the page defines the data it
uses), in a scratch working directory, headless (``MPLBACKEND=Agg``), with warning filters restored afterwards and
one BLAS thread (CI machines are shared, and a waiting second BLAS thread makes small fits many times slower).
A page whose snippets import something not installed (an optional extra, ``sklearn.callback`` before
scikit-learn 1.9) is skipped, naming the module. Shell blocks (```bash) are not run here.
"""
import ast
import re
import textwrap
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
GENERATED = {"_build", "_generated", "auto_examples", "generated"}  # written by the docs build
PAGES = [ROOT / "README.md"] + sorted(
    path for path in (ROOT / "docs").rglob("*.md") if not GENERATED.intersection(path.relative_to(ROOT).parts)
)
# A fenced block, possibly indented (inside a list item): the fence's indentation closes it.
FENCE = re.compile(r"^( *)```python[^\n]*\n(.*?)^\1```", re.M | re.S)


def python_blocks(text):
    """The ```python blocks of a Markdown text, dedented, with the line each starts on."""
    return [(text.count("\n", 0, m.start()) + 2, textwrap.dedent(m.group(2))) for m in FENCE.finditer(text)]


def imported_modules(code):
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_snippets_run_in_order(page, tmp_path, monkeypatch):
    blocks = python_blocks(page.read_text())
    if not blocks:
        pytest.skip("no Python snippets")
    for _, code in blocks:
        for module in imported_modules(code):
            if not module.startswith("fastnn"):
                pytest.importorskip(module, reason=f"{page.name} needs {module}")
    import scipy.linalg  # noqa: F401  load both OpenBLAS libraries now, so that the thread limit below holds for them

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__docs__"}
    with warnings.catch_warnings(), threadpool_limits(1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)  # the snippets keep max_iter small
        for line, code in blocks:
            try:
                exec(compile(code, f"{page.relative_to(ROOT)}:{line}", "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"the snippet at {page.relative_to(ROOT)} line {line} fails: {exc!r}") from exc
    plt = __import__("sys").modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")


def test_the_pages_have_snippets():
    """The extractor finds the snippets (a changed fence syntax would otherwise skip every page silently)."""
    counts = {page.name: len(python_blocks(page.read_text())) for page in PAGES}
    assert counts["README.md"] >= 1 and counts["estimators.md"] >= 4, counts
    assert sum(counts.values()) >= 20, counts
