"""README.md's relative links and images point at files that exist (the site's own links are checked by its build)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_relative_links_exist():
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    relative = [t for t in targets if not re.match(r"[a-z]+://", t)]
    assert len(relative) >= 10, relative
    missing = [t for t in relative if not (ROOT / t).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"
