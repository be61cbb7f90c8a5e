"""A kernel cache that heals: after one real fit fills a NUMBA_CACHE_DIR, its files are damaged as real machines
damage them (cut to half by a full disk, overwritten, written by another Numba or by Numba's own format, index lost,
entry half written) and a fresh process fits again. It must succeed with the predictions of a clean cache, give one
CacheRepairWarning naming the folder, and leave a cache that loads cleanly. Four processes compiling into one
empty cache at once leave only sound entries; a cache folder removed, or made read-only, under a running process
does not stop its fits.

Every fit runs in a subprocess (Numba loads cached kernels once per process); one clean cache is filled per module
and copied for each damage."""
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from fastnn.kernels import _cache_file

CHILD = r"""
import json, os, shutil, sys, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import numpy as np
    import fastnn
    from fastnn.kernels import CacheFallbackWarning, CacheRepairWarning
    from fastnn.kernels._jit import cache_dir
    if sys.argv[1] in ("vanish", "read-only"):  # a running process: its kernel modules are loaded (loading is deferred)
        import importlib
        for name in fastnn.kernels.MODULES:
            importlib.import_module("fastnn.kernels." + name)
    if sys.argv[1] == "vanish":
        shutil.rmtree(os.environ["NUMBA_CACHE_DIR"])
    elif sys.argv[1] == "read-only":
        for folder in (os.environ["NUMBA_CACHE_DIR"], cache_dir()):
            os.chmod(folder, 0o555)
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    proba = fastnn.MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y).predict_proba(X)
print(json.dumps({
    "warnings": [str(w.message) for w in caught if issubclass(w.category, (CacheRepairWarning, CacheFallbackWarning))],
    "folder": cache_dir(), "proba": proba.tolist(),
}))
"""


def _fit(cache, mode="fit", preexec_fn=None):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["NUMBA_CACHE_DIR"] = str(cache)
    result = subprocess.run([sys.executable, "-c", CHILD, mode], env=env, capture_output=True, text=True,
                            timeout=600, preexec_fn=preexec_fn)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    cache = tmp_path_factory.mktemp("clean_cache")
    out = _fit(cache)
    assert out["warnings"] == []
    return cache, out


@pytest.fixture
def damaged(clean, tmp_path):
    """A copy of the clean cache and its kernel folder."""
    cache = tmp_path / "cache"
    shutil.copytree(clean[0], cache)
    folder = cache / Path(clean[1]["folder"]).name
    assert list(folder.glob("*.nbi")) and list(folder.glob("*.nbc"))
    assert all(f".numba{numba.__version__}." in f.name for f in folder.iterdir()), "other Numbas keep their files"
    return cache, folder


def _truncate_all(folder):
    for f in folder.iterdir():
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _garbage_over_data(folder):
    rng = np.random.default_rng(0)
    for f in folder.glob("*.nbc"):
        f.write_bytes(rng.bytes(f.stat().st_size))


def _other_numba_version(folder):
    for f in folder.glob("*.nbi"):
        _, stamp, overloads = _cache_file.read_index(f, numba.__version__)
        f.write_bytes(_cache_file.pack(("0.59.1", stamp, overloads)))


def _numba_format_index(folder):
    """What Numba itself writes: pickle(version) + pickle((stamp, overloads)), no checksum."""
    for f in folder.glob("*.nbi"):
        _, stamp, overloads = _cache_file.read_index(f, numba.__version__)
        f.write_bytes(pickle.dumps(numba.__version__) + pickle.dumps((stamp, overloads)))


def _half_written_entries(folder):
    """A writer killed while writing each data file: the index lists it, only half a temporary file exists."""
    for f in folder.glob("*.nbc"):
        f.with_name(f.name + ".tmp.0123456789abcdef").write_bytes(f.read_bytes()[: f.stat().st_size // 2])
        f.unlink()


@pytest.mark.parametrize("damage", [_truncate_all, _garbage_over_data, _other_numba_version, _numba_format_index,
                                    _half_written_entries], ids=lambda f: f.__name__.strip("_"))
def test_damaged_cache_heals_with_one_warning_and_same_predictions(clean, damaged, damage):
    cache, folder = damaged
    damage(folder)
    assert _cache_file.inspect(folder), "the damage is visible to `python -m fastnn info`"
    out = _fit(cache)
    np.testing.assert_array_equal(out["proba"], clean[1]["proba"])
    assert len(out["warnings"]) == 1, out["warnings"]
    assert str(folder) in out["warnings"][0] and "could not be loaded" in out["warnings"][0]
    assert _cache_file.inspect(folder) == [], "the bad entries were written again"


def test_missing_index_is_an_empty_entry_recompiled_without_warning(clean, damaged):
    """Without its index a kernel is simply not cached (its orphan data file is overwritten): nothing to warn."""
    cache, folder = damaged
    for f in folder.glob("*.nbi"):
        f.unlink()
    out = _fit(cache)
    np.testing.assert_array_equal(out["proba"], clean[1]["proba"])
    assert out["warnings"] == []
    assert list(folder.glob("*.nbi")) and _cache_file.inspect(folder) == []


def test_four_processes_compiling_into_one_empty_cache_leave_only_sound_entries(clean, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["NUMBA_CACHE_DIR"] = str(tmp_path)
    writers = [subprocess.Popen([sys.executable, "-c", CHILD, "fit"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for writer in writers:
        stdout, stderr = writer.communicate(timeout=600)
        assert writer.returncode == 0, stderr[-4000:]
        out = json.loads(stdout.strip().splitlines()[-1])
        assert out["warnings"] == [] and out["proba"] == clean[1]["proba"]
    folder = Path(out["folder"])
    assert _cache_file.inspect(folder) == [] and not list(folder.glob("*.tmp.*"))
    reader = _fit(tmp_path)
    assert reader["warnings"] == [] and reader["proba"] == clean[1]["proba"]


def test_cache_folder_removed_under_a_running_process_is_recreated(clean, tmp_path):
    out = _fit(tmp_path / "cache", mode="vanish")
    assert out["warnings"] == [] and out["proba"] == clean[1]["proba"]
    assert _cache_file.inspect(out["folder"]) == [] and list(Path(out["folder"]).glob("*.nbi"))


def test_cache_folder_made_read_only_under_a_running_process_fits_with_one_warning(clean, damaged, tmp_path):
    """The cached kernels load; the one that must be compiled cannot be written: one warning, same predictions."""
    from test_reliability_concurrency import _chmod_tree, _without_write_permission

    cache, folder = damaged
    next(folder.glob("dense.dense_forward-*.nbi")).unlink()
    try:
        out = _fit(cache, mode="read-only", preexec_fn=_without_write_permission)
    finally:
        _chmod_tree(tmp_path, 0o755)
    assert out["proba"] == clean[1]["proba"]
    assert len(out["warnings"]) == 1 and "cannot be written" in out["warnings"][0], out["warnings"]
    assert not list(folder.glob("dense.dense_forward-*.nbi"))


def test_info_lists_the_entries_that_cannot_be_loaded(damaged):
    cache, folder = damaged
    _truncate_all(folder)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    result = subprocess.run([sys.executable, "-m", "fastnn", "info"], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    indexes = sorted(f.name for f in folder.glob("*.nbi"))
    assert f"entries that cannot be loaded: {len(indexes)} " in result.stdout, result.stdout
    for name in indexes:
        assert f"{name}: checksum mismatch" in result.stdout, result.stdout


def test_inspect_reports_only_files_of_this_numba_version(tmp_path):
    """Environments with other Numba releases may share the folder: their files are not this one's damage."""
    import numba

    (tmp_path / "dense.dense_forward-12.py311.numba0.0.1.nbi").write_bytes(b"another numba's index")
    assert _cache_file.inspect(tmp_path) == []
    own = f"dense.dense_forward-12.py311.numba{numba.__version__}.nbi"
    (tmp_path / own).write_bytes(b"garbage")
    assert [name for name, _ in _cache_file.inspect(tmp_path)] == [own]
