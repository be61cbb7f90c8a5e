"""``python -m fastnn info`` and ``python -m fastnn cache clear``, and ``fastnn.show_versions()``."""
import os
import re
import subprocess
import sys

import fastnn


def _cli(args, env, cwd):
    result = subprocess.run([sys.executable, "-m", "fastnn", *args], env=env, cwd=cwd, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _cache_files(text):
    return int(re.search(r"size: (\d+) files", text).group(1))


def test_info_reports_the_user_cache_and_cache_clear_empties_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    fit = "import fastnn; fastnn.MLPClassifier(max_iter=2).fit([[0.0], [1.0]], [0, 1])"
    subprocess.run([sys.executable, "-W", "ignore", "-c", fit], env=env, cwd=tmp_path, check=True, timeout=300)
    info = _cli(["info"], env, tmp_path)
    folder = re.search(r"location: (\S*kernels_\w+)", info).group(1)
    assert folder.startswith(str(tmp_path / "cache" / "fastnn" / fastnn.__version__)), info
    assert _cache_files(info) > 0 and "entries that cannot be loaded: 0" in info
    for name in ("numpy", "numba", "scikit-learn", "threadpoolctl"):
        assert re.search(rf"{name}: \d", info), name
    assert "threads" in info.split("BLAS")[1], info
    cleared = _cli(["cache", "clear"], env, tmp_path)
    assert folder in cleared and "removed" in cleared
    assert _cache_files(_cli(["info"], env, tmp_path)) == 0


def test_show_versions_prints_fastnn_version_and_blas(capsys):
    fastnn.show_versions()
    out = capsys.readouterr().out
    assert f"version: {fastnn.__version__}" in out
    assert "BLAS and OpenMP (threadpoolctl)" in out and "Kernel cache" in out


def test_unknown_command_exits_with_usage(tmp_path):
    result = subprocess.run([sys.executable, "-m", "fastnn", "frobnicate"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and "usage: python -m fastnn" in result.stderr
