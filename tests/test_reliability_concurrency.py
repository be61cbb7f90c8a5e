"""Reliability, concurrency and caching: one fitted model serves 8 threads at once with identical results; fit
leaves every thread setting as it found it, also when it raises; GridSearchCV(n_jobs=2) works from an empty
Numba cache (two processes compiling at once) and from a read-only installed package (cached in the user's fastnn
folder, no warning); an unwritable NUMBA_CACHE_DIR falls back with one CacheFallbackWarning, no writable location
at all runs uncached with one warning, and other Numba libraries keep their own cache location."""
import ctypes
import json
import os
import pickle
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import fastnn
import fastnn.kernels
from fastnn import MLPClassifier
from fastnn.layers import Conv2D, MaxPool2D
from fastnn.network import Sequential

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=80, d=5):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    return MLPClassifier(hidden_layer_sizes=(64,), max_iter=20, random_state=0).fit(X, y)


# ------------------------------------------------------------------ threads
def _in_threads(fn, n=8):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()  # all threads enter the kernels together
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


@pytest.mark.parametrize("n_rows", [50, 20000])
def test_eight_threads_predict_proba_on_one_model_identical(fitted, n_rows):
    """Also on a freshly unpickled copy, whose network the threads race to build on first use."""
    X = np.random.default_rng(1).normal(size=(n_rows, 5))
    reference = fitted.predict_proba(X)
    model = pickle.loads(pickle.dumps(fitted))
    results = _in_threads(lambda i: [model.predict_proba(X) for _ in range(3)])
    for per_thread in results:
        for proba in per_thread:
            np.testing.assert_array_equal(proba, reference)


def test_eight_threads_conv_and_pool_inference_identical():
    """The parallel (prange) conv/pool kernels called from 8 threads at once."""
    rng = np.random.default_rng(0)
    conv, pool = Conv2D(4, 3, padding=1), MaxPool2D(2)
    pool.build(conv.build((2, 12, 12), np.float32, rng), np.float32, rng)
    x = rng.normal(size=(64, 2, 12, 12)).astype(np.float32)
    reference = pool.forward(conv.forward(x))
    for out in _in_threads(lambda i: pool.forward(conv.forward(x))):
        np.testing.assert_array_equal(out, reference)


def _thread_settings():
    return numba.get_num_threads(), sorted((i["internal_api"], i["num_threads"]) for i in threadpool_info())


@pytest.mark.parametrize("limit", [None, 1])
def test_fit_leaves_thread_settings_unchanged_even_when_it_raises(limit, monkeypatch):
    """fastnn's fit changes no thread setting (numba.set_num_threads, BLAS/OpenMP limits); check that after a
    successful fit, a fit that diverges mid-way, a fit stopped by an arbitrary exception mid-way and one stopped by
    Ctrl-C (which keeps the completed epochs), under the
    default settings and under user-set limits."""
    X, y = _data()
    previous = numba.get_num_threads()
    try:
        if limit:
            numba.set_num_threads(limit)
        with threadpool_limits(limits=limit):
            before = _thread_settings()
            MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
            assert _thread_settings() == before
            with pytest.raises(ValueError, match="non-finite"):
                MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=1e38,
                              max_iter=3, random_state=0).fit(X * 10, y)
            assert _thread_settings() == before

            original = Sequential.loss_and_grad
            for exc, outcome in ((RuntimeError("stop in the middle of the epoch"), pytest.raises(RuntimeError)),
                                 (KeyboardInterrupt(), pytest.warns(UserWarning, match="interrupted by user"))):
                calls = []

                def interrupted(self, *args, _exc=exc, _calls=calls, **kwargs):
                    _calls.append(1)
                    if len(_calls) == 2:
                        raise _exc
                    return original(self, *args, **kwargs)

                monkeypatch.setattr(Sequential, "loss_and_grad", interrupted)
                with outcome:  # layered: the fused epoch runs in one call, unpatched
                    MLPClassifier(hidden_layer_sizes=(8,), batch_size=20, max_iter=3, random_state=0,
                                  fused=False).fit(X, y)
                monkeypatch.undo()
                assert _thread_settings() == before
    finally:
        numba.set_num_threads(previous)


# ------------------------------------------------------------------ Numba cache in child processes
CHILD = r"""
import json, sys, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import numpy as np
    import fastnn, fastnn.kernels
    from fastnn import MLPClassifier
    from sklearn.model_selection import GridSearchCV
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    est = MLPClassifier(hidden_layer_sizes=(6,), max_iter=20, random_state=0)
    if sys.argv[1] == "grid":
        est = GridSearchCV(est, {"alpha": [1e-4, 1e-1]}, cv=2, n_jobs=2).fit(X, y)
        params = est.best_params_
    else:
        est.fit(X, y)
        params = {}
    proba = est.predict_proba(X)
print(json.dumps({
    "cache_warnings": [str(w.message) for w in caught if issubclass(w.category, fastnn.kernels.CacheFallbackWarning)],
    "files": [fastnn.__file__, fastnn.kernels.__file__], "params": params, "proba": proba.tolist(),
}))
"""


def _expected_proba(params):
    X, y = _data()
    return MLPClassifier(hidden_layer_sizes=(6,), max_iter=20, random_state=0, **params).fit(X, y).predict_proba(X)


def _without_write_permission():
    """preexec_fn making permission bits binding for the child. As root (which ignores them), drop
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so the exec'd interpreter keeps uid 0 (and can
    still read a Python installed under /root) but can no longer write to read-only folders; without the
    capability to do that, become ``nobody``."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2
    if all(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0 for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH)):
        return
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def _read_only_package(root):
    """A copy of the installed package (fastnn/ with kernels/ as fastnn/kernels, as a wheel lays it out), no
    __pycache__, with every folder non-writable."""
    site = root / "site"
    dst = site / "fastnn"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc")
    shutil.copytree(Path(fastnn.__file__).parent, dst, ignore=ignore)
    if not (dst / "kernels").exists():  # editable install: the kernels live in the repository's kernels/
        shutil.copytree(Path(fastnn.kernels.__file__).parent, dst / "kernels", ignore=ignore)
    _chmod_tree(site, 0o555)
    return site


def _chmod_tree(top, dir_mode):
    for folder, _, _ in os.walk(top):
        os.chmod(folder, dir_mode)


def _folder(path, writable):
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o755 if writable else 0o555)
    return path


def _run_child(mode, tmp_path, env_updates, read_only=False):
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH")}
    env.update(env_updates)
    try:
        result = subprocess.run(
            [sys.executable, "-c", CHILD, mode], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
            preexec_fn=_without_write_permission if read_only else None,
        )
    finally:
        _chmod_tree(tmp_path, 0o755)  # let pytest clean up
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _cache_files(folder):
    return list(Path(folder).rglob("*.nbi"))


def test_gridsearch_n_jobs_2_with_empty_numba_cache(tmp_path):
    """Two loky workers compile the same kernels into the same, empty NUMBA_CACHE_DIR at once."""
    cache = _folder(tmp_path / "numba_cache", writable=True)
    out = _run_child("grid", tmp_path, {"NUMBA_CACHE_DIR": str(cache)})
    assert out["cache_warnings"] == []
    assert _cache_files(cache), "the kernels were cached in NUMBA_CACHE_DIR"
    np.testing.assert_array_equal(out["proba"], _expected_proba(out["params"]))


def test_gridsearch_n_jobs_2_from_read_only_package_caches_in_user_folder_without_warning(tmp_path):
    site = _read_only_package(tmp_path)
    home = _folder(tmp_path / "home", writable=True)
    out = _run_child("grid", tmp_path, {"PYTHONPATH": str(site), "HOME": str(home),
                                        "XDG_CACHE_HOME": str(home / ".cache")}, read_only=True)
    assert all(f.startswith(str(site)) for f in out["files"]), out["files"]
    assert out["cache_warnings"] == []
    assert _cache_files(home / ".cache" / "fastnn"), "the kernels were cached in the user's fastnn folder"
    assert not _cache_files(site)
    np.testing.assert_array_equal(out["proba"], _expected_proba(out["params"]))


def test_unwritable_numba_cache_dir_falls_back_to_user_folder_with_one_warning(tmp_path):
    asked = _folder(tmp_path / "asked", writable=False)
    home = _folder(tmp_path / "home", writable=True)
    out = _run_child("fit", tmp_path, {"NUMBA_CACHE_DIR": str(asked), "HOME": str(home),
                                       "XDG_CACHE_HOME": str(home / ".cache")}, read_only=True)
    assert len(out["cache_warnings"]) == 1, out["cache_warnings"]
    assert f"NUMBA_CACHE_DIR={asked} is not writable" in out["cache_warnings"][0]
    assert str(home / ".cache" / "fastnn") in out["cache_warnings"][0]
    assert not _cache_files(asked) and _cache_files(home / ".cache" / "fastnn")


OTHER_LIBRARY = """
import numba

@numba.njit(cache=True)
def twice(x):
    return 2 * x
"""


def test_other_numba_libraries_keep_their_own_cache_location(tmp_path):
    """fastnn's cache location is its own: a Numba function of another library in the same process still caches
    in its __pycache__, as Numba does by default."""
    lib = tmp_path / "otherlib"
    lib.mkdir()
    (lib / "other.py").write_text(OTHER_LIBRARY)
    home = _folder(tmp_path / "home", writable=True)
    code = "import fastnn; fastnn.MLPClassifier(max_iter=2).fit([[0.0], [1.0]], [0, 1]); import other; other.twice(2)"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(lib), HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert [p.name for p in _cache_files(lib / "__pycache__")] == [p.name for p in _cache_files(lib)]
    assert any(p.name.startswith("other.twice") for p in _cache_files(lib / "__pycache__"))
    assert not any("other" in p.name for p in _cache_files(home)) and _cache_files(home / ".cache" / "fastnn")


def test_no_writable_cache_location_runs_uncached_with_one_warning(tmp_path):
    site = _read_only_package(tmp_path)
    home = _folder(tmp_path / "home", writable=False)
    out = _run_child("fit", tmp_path, {"PYTHONPATH": str(site), "HOME": str(home),
                                       "XDG_CACHE_HOME": str(home / "cache")}, read_only=True)
    assert len(out["cache_warnings"]) == 1, out["cache_warnings"]
    assert "kernels run uncached" in out["cache_warnings"][0] and "NUMBA_CACHE_DIR" in out["cache_warnings"][0]
    assert not _cache_files(tmp_path)
    np.testing.assert_array_equal(out["proba"], _expected_proba({}))
