"""Background compiles (``fastnn.network.background``): with ``fused='auto'`` and an empty cache a fit starts one
process that compiles the fused kernels into the cache and switches to the fused epoch between epochs when it lands,
with the same result bit for bit; the compile survives being killed, two compilers started at once compile once,
and one setting turns it off. tests/conftest.py turns background compiles off for the rest of the suite."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import fastnn
from fastnn import MLPClassifier
from fastnn.kernels import codes
from fastnn.network import background, compile_helper
from fastnn.network import fused as _plan

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=60, d=5):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)


def _fit(**params):
    X, y = _data()
    return MLPClassifier(hidden_layer_sizes=(7,), batch_size=16, max_iter=6, random_state=0, **params).fit(X, y)


@pytest.fixture
def empty_cache(monkeypatch):
    """A cache that holds nothing fused (the kernels themselves may be compiled in this process: the fits run
    either way) and a record of the compiles a fit asks for instead of real processes."""
    monkeypatch.setattr(_plan.FusedMLP, "_cached", lambda self, kernel, sig: False)
    monkeypatch.setattr(_plan, "is_compiled", lambda kernel, sig: False)
    started = []
    monkeypatch.setattr(background, "_children", {})
    monkeypatch.setattr(background, "_spawn", lambda name: started.append(name) or _Running())
    monkeypatch.setattr(background, "compiling", lambda folder, name=None: False)
    # No compile helper either (its process would be real: a cold kernel cache in this process starts one, and the
    # fused compile waits for it; tests/test_compile_helper.py covers it).
    monkeypatch.setattr(compile_helper, "start", lambda *args, **kwargs: None)
    monkeypatch.setattr(compile_helper, "running", lambda: False)
    monkeypatch.setattr(background, "spare_core", lambda: True)  # the other test workers may keep the cores busy
    monkeypatch.setenv(background.ENV, "1")
    return started


class _Running:
    def poll(self):
        return None


def test_default_fit_on_an_empty_cache_starts_one_background_compile_and_stays_layered(empty_cache):
    first = _fit()
    again = _fit(dtype="float64")
    _fit()
    assert first._net.fused_epochs == 0 and again._net.fused_epochs == 0
    # one compile per dtype and variant (multiclass softmax on integer labels, adam), not per fit
    variant = f"{codes.SOFTMAX_LABELS}-{codes.ADAM}"
    assert empty_cache == [f"float32-{variant}", f"float64-{variant}"]


@pytest.mark.parametrize("off", ["env", "function"])
def test_background_compiles_off_with_one_setting(empty_cache, monkeypatch, off):
    if off == "env":
        monkeypatch.setenv(background.ENV, "0")
    else:
        fastnn.set_background_compile(False)
    try:
        assert _fit()._net.fused_epochs == 0
        # Off, the 'auto' tier is as before: a fit long enough to repay the compile fuses in this process.
        plan = _fit()._net._fused_plan()
        X, y = _data()
        call = plan.epoch_call(X.astype(np.float32), y, None, np.arange(len(X)), 16, 1e-4, 1.0)
        assert call is not None and plan.worth_fusing(call, 10**9)
    finally:
        fastnn.set_background_compile(None)
    assert empty_cache == []


def test_no_compile_starts_without_a_spare_core_and_one_starts_when_a_core_frees(empty_cache, monkeypatch):
    """While the cores are busy (a parallel search's workers) a fit starts no compile and does not wait for one: it
    decides as without background compiles; a later epoch that finds a core free starts it."""
    free = []
    monkeypatch.setattr(background, "spare_core", lambda: bool(free))
    X, y = _data()
    est = MLPClassifier(hidden_layer_sizes=(7,), batch_size=16, max_iter=1, warm_start=True, random_state=0)
    est.fit(X, y)
    est.fit(X, y)
    assert empty_cache == [] and est._net.fused_epochs == 0
    plan = est._net._fused_plan()
    call = plan.epoch_call(X.astype(np.float32), y, None, np.arange(len(X)), 16, 1e-4, 1.0)
    assert plan.worth_fusing(call, 10**9), "a fit long enough to repay the compile fuses in its own process"
    assert empty_cache == []
    free.append(True)
    est.fit(X, y)
    assert empty_cache == [f"float32-{codes.SOFTMAX_LABELS}-{codes.ADAM}"]


def test_predictions_ask_about_a_running_compile_once_per_recheck_interval(empty_cache, monkeypatch):
    """Looking for a running compile's lock files on every one-row prediction tripled its time while one ran."""
    est = _fit()
    asked = []
    monkeypatch.setattr(background, "pending", lambda dtype, codes=None, start=True: asked.append(1) or True)
    X, _ = _data()
    clock = [1000.0]
    monkeypatch.setattr(_plan.time, "monotonic", lambda: clock[0])
    for _ in range(50):
        est.predict_proba(X[:1])
    assert len(asked) == 1
    clock[0] += _plan.RECHECK_SECONDS
    est.predict_proba(X[:1])
    assert len(asked) == 2


@pytest.mark.parametrize("ready, here, cores, spare", [
    ("1/90", 1, 2, True), ("3/90", 3, 2, True),  # this process alone, its BLAS threads spinning or not
    ("2/90", 1, 2, False), ("4/300", 2, 2, False),  # another process is running: no core left beside this one
    ("3/300", 1, 8, True), ("garbage", 1, 2, True), (None, 1, 1, False)])
def test_spare_core_counts_the_threads_of_other_processes_ready_to_run(tmp_path, monkeypatch, ready, here, cores,
                                                                        spare):
    path = tmp_path / "loadavg"
    if ready is not None:
        path.write_text(f"0.50 0.40 0.30 {ready} 12345\n")
    monkeypatch.setattr(background, "LOADAVG", str(path))
    monkeypatch.setattr(background, "_ready_here", lambda: here)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert background.spare_core() is spare


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="Linux")
def test_ready_here_counts_this_process_s_running_threads():
    assert background._ready_here() >= 1  # the thread reading is running
    assert background._ready_here() <= len(os.listdir("/proc/self/task"))


def test_a_process_pool_worker_starts_no_compile_process():
    import concurrent.futures
    import multiprocessing

    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert pool.submit(background.spare_core).result(timeout=120) is False


def test_fit_switches_to_the_fused_epoch_when_the_compile_lands_bit_identical(empty_cache, monkeypatch):
    layered = _fit(fused=False)
    epochs = []
    real_worth = _plan.FusedMLP.worth_fusing

    def lands_after_two_epochs(self, args, steps_left):
        epochs.append(1)
        if len(epochs) > 2:
            monkeypatch.setattr(_plan.FusedMLP, "_ready", lambda self, kernel, args: True)
        return real_worth(self, args, steps_left)

    monkeypatch.setattr(_plan.FusedMLP, "worth_fusing", lands_after_two_epochs)
    switched = _fit()
    assert switched._net.fused_epochs == 4
    for a, b in zip(switched.coefs_ + switched.intercepts_, layered.coefs_ + layered.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(switched.loss_curve_, layered.loss_curve_)
    X, _ = _data()
    np.testing.assert_array_equal(switched.predict_proba(X), layered.predict_proba(X))


# ------------------------------------------------------------------ real processes on an empty cache
LATER = """
import json, warnings
warnings.simplefilter("ignore")
import numpy as np
from fastnn import MLPClassifier
rng = np.random.default_rng(0)
X = rng.standard_normal((60, 5)); y = (X[:, 0] > 0).astype(int)
params = dict(hidden_layer_sizes=(7,), batch_size=16, max_iter=6, random_state=0)
auto = MLPClassifier(**params).fit(X, y)
layered = MLPClassifier(fused=False, **params).fit(X, y)
print(json.dumps({"fused_epochs": auto._net.fused_epochs,
                  "same": bool(np.array_equal(auto.predict_proba(X), layered.predict_proba(X)))}))
"""


def _child(env):
    variant = [str(codes.SIGMOID), str(codes.ADAM)]  # what LATER's binary fit uses
    return subprocess.Popen([sys.executable, "-c", background._CHILD, "float32", *variant], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until(condition, timeout=300):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_background_compile_survives_a_kill_compiles_once_when_started_twice_and_later_fits_fuse(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), background.ENV: "1"}
    folder_of = "from fastnn.kernels import _jit; print(_jit.cache_dir())"
    folder = subprocess.run([sys.executable, "-c", folder_of], env=env, capture_output=True, text=True,
                            check=True).stdout.strip()
    killed = _child(env)
    _wait_until(lambda: background.compiling(folder, "float32") or killed.poll() is not None)
    time.sleep(1.0)  # into the compile
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert not background.compiling(folder, "float32"), "the lock dies with its process"

    first, second = _child(env), _child(env)
    codes = sorted([first.wait(timeout=900), second.wait(timeout=900)])
    assert codes == [0, background.ALREADY_CACHED], (codes, first.stderr.read()[-2000:], second.stderr.read()[-2000:])

    later = subprocess.run([sys.executable, "-c", LATER], env=env, capture_output=True, text=True, timeout=600)
    assert later.returncode == 0, later.stderr[-3000:]
    out = json.loads(later.stdout.strip().splitlines()[-1])
    assert out == {"fused_epochs": 6, "same": True}, "a later process runs fused from its first epoch"


KERNEL = """
from fastnn.kernels import jit


@jit
def twice(x):
    return 2.0 * x
"""


def test_a_cache_entry_without_its_data_file_is_not_cached(tmp_path, monkeypatch):
    """Numba writes a kernel's index entry before its data file: a compile killed in between must not count."""
    import importlib

    import numba

    from fastnn import kernels

    (tmp_path / "halfway_kernel.py").write_text(KERNEL)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "cache"))  # keep the user's cache clean
    kernel = importlib.import_module("halfway_kernel").twice
    assert kernel(1.5) == 3.0
    sig = kernels.signature(kernel, (1.5,))
    assert kernels.is_cached(kernel, sig)
    assert kernel._cache.cache_path.startswith(str(tmp_path))
    data = list(__import__("pathlib").Path(kernel._cache.cache_path).glob("halfway_kernel.twice-*.nbc"))
    assert len(data) == 1
    data[0].unlink()
    assert not kernels.is_cached(kernel, sig)


def test_layered_epochs_leave_a_core_to_a_running_compile_and_give_it_back(monkeypatch):
    """With a compile on one of two cores, BLAS runs layered epochs on one thread (two threads waiting on a busy
    core made a cold fit 2.5x slower); its setting comes back afterwards, and the result is the same."""
    from threadpoolctl import threadpool_limits

    from fastnn.layers import threads

    def blas_threads():
        return [lib.get_num_threads() for lib in threads._blas()]

    X = np.random.default_rng(0).normal(size=(64, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    params = dict(hidden_layer_sizes=(8,), max_iter=3, batch_size=16, dtype=np.float32, random_state=0)
    with pytest.warns(ConvergenceWarning):
        reference = MLPClassifier(fused=False, **params).fit(X, y)
    seen = []
    layered = _plan.FusedMLP.python_epoch  # the epochs before the fused kernel is ready

    def spy(self, *args):
        seen.append(blas_threads())
        return layered(self, *args)

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(background, "running", lambda dtype: True)
    monkeypatch.setattr(_plan.FusedMLP, "worth_fusing", lambda self, args, steps_left: False)
    monkeypatch.setattr(_plan.FusedMLP, "python_epoch", spy)
    with threadpool_limits(2, user_api="blas"), pytest.warns(ConvergenceWarning):
        before = blas_threads()
        est = MLPClassifier(**params).fit(X, y)
        after = blas_threads()
    assert before and set(before) == {2}
    assert seen == [[1] * len(before)] * 3
    assert after == before
    np.testing.assert_array_equal(est.predict_proba(X), reference.predict_proba(X))
