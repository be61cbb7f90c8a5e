"""What a newcomer does to an environment, replayed in a new venv: a regular install and a fit, an uninstall, then a
regular install, a fit and an editable reinstall over it (README command 1, then command 2), and fastnn used from
another folder. Before the kernel cache moved out of the package, the fit left Numba's files in
``site-packages/fastnn``, the editable reinstall left that folder behind, and ``import fastnn`` from elsewhere found
an empty namespace package. Slow (two installs and cold compiles); it runs in CI.

The new venv sees the running environment's packages (numpy, numba, scikit-learn) through a ``.pth`` file; only
fastnn is installed into it (pip fetches the build backend, as for any install).
"""
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIT = """
import numpy as np, fastnn
X = np.random.default_rng(0).normal(size=(60, 4)); y = (X[:, 0] > 0).astype(int)
print(fastnn.MLPClassifier(hidden_layer_sizes=(5,), max_iter=3).fit(X, y).score(X, y))
"""

GRID = """
import json, warnings
warnings.simplefilter("ignore")
import numpy as np, fastnn
from sklearn.model_selection import GridSearchCV
X = np.random.default_rng(0).normal(size=(80, 4)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
search = GridSearchCV(fastnn.MLPClassifier(max_iter=30, random_state=0), {"alpha": [1e-4, 1e-1]}, cv=2, n_jobs=2)
search.fit(X, y)
print(json.dumps({"file": fastnn.__file__, "score": search.best_score_}))
"""


def _run(args, cwd, env, timeout=600):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def _fastnn_entries(site):
    return sorted(p.name for p in site.iterdir() if "fastnn" in p.name.lower())


def test_install_fit_uninstall_then_install_fit_editable_reinstall_and_use_from_another_folder(tmp_path):
    venv, elsewhere, home = tmp_path / "venv", tmp_path / "elsewhere", tmp_path / "home"
    elsewhere.mkdir()
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, os.environ)
    python = str(venv / "bin" / "python")
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path,
                     os.environ).strip())
    (site / "_outer_environment.pth").write_text(
        "\n".join(dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])) + "\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    pip = [python, "-m", "pip", "install", "--quiet", "--no-deps"]  # the build backend comes from the index

    _run(pip + [str(ROOT)], tmp_path, env)
    _run([python, "-c", FIT], elsewhere, env)
    assert not list((site / "fastnn").rglob("*.nb[ic]")), "compiled kernels were written into the installed package"
    assert list((home / ".cache" / "fastnn").rglob("*.nbi")), "compiled kernels go to the user's fastnn folder"
    _run([python, "-m", "pip", "uninstall", "--quiet", "-y", "fastnn"], tmp_path, env)
    assert _fastnn_entries(site) == [], "pip uninstall left fastnn files behind"

    _run(pip + [str(ROOT)], tmp_path, env)
    _run([python, "-c", FIT], elsewhere, env)
    _run(pip + ["-e", str(ROOT)], tmp_path, env)
    out = json.loads(_run([python, "-c", GRID], elsewhere, env).strip().splitlines()[-1])
    assert out["file"] == str(ROOT / "fastnn" / "__init__.py"), out
    assert 0.5 < out["score"] <= 1.0
