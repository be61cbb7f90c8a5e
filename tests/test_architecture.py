"""The floors of docs/design.md hold: import-linter checks the import direction (contracts in pyproject.toml)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_imports_point_down_the_floors(tmp_path):
    pytest.importorskip("importlinter")
    # fastnn.kernels is the top-level kernels/ folder mapped into the package at install time; import-linter reads
    # folders, so it analyses a copy laid out as installed.
    shutil.copytree(ROOT / "fastnn", tmp_path / "fastnn", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "kernels", tmp_path / "fastnn" / "kernels", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--config", "pyproject.toml", "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout
