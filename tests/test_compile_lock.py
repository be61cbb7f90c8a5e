"""Compile locks (kernels/_compile_lock.py): processes that need the same uncached kernel compile it once between
them; a failed compile, a killed compiler and a stuck one never block anyone for good; a follower never holds a lock.
"""
import json
import os
import subprocess
import sys
import time

import numba
import numpy as np
import pytest

from fastnn.kernels import _compile_lock

pytestmark = pytest.mark.skipif(_compile_lock.fcntl is None, reason="compile locks need fcntl (POSIX)")

# A layered fit in a fresh process; prints the kernels this process compiled (Numba's compile events).
FIT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
from fastnn.cli.compile_timer import compile_seconds
from fastnn import MLPClassifier
X = np.random.default_rng(0).normal(size=(40, 3)); y = (X[:, 0] > 0).astype(int)
with compile_seconds() as seconds:
    proba = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, fused=False, random_state=0).fit(X, y).predict_proba(X)
import importlib
import fastnn.kernels as kernels
ours = {v.py_func.__name__ for m in kernels.MODULES for v in vars(importlib.import_module("fastnn.kernels." + m)).values()
        if hasattr(v, "py_func") and hasattr(v, "_cache")}
# Numba's own overloads compiled on the way ("impl") are compiled by every process, as Numba caches them nowhere.
print(json.dumps({"compiled": sorted(set(seconds) & ours), "proba": proba.tolist()}))
"""


def _env(cache):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(NUMBA_CACHE_DIR=str(cache), FASTNN_BACKGROUND_COMPILE="0")
    return env


def test_two_processes_needing_the_same_kernels_compile_each_once(tmp_path):
    fits = [subprocess.Popen([sys.executable, "-c", FIT], env=_env(tmp_path), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = []
    for fit in fits:
        stdout, stderr = fit.communicate(timeout=600)
        assert fit.returncode == 0, stderr[-4000:]
        outs.append(json.loads(stdout.strip().splitlines()[-1]))
    first, second = (set(out["compiled"]) for out in outs)
    assert {"dense_forward", "dense_backward", "adam"} <= first | second
    assert first & second == set(), "a kernel was compiled by both processes"
    assert outs[0]["proba"] == outs[1]["proba"]


def _kernel(tmp_path, monkeypatch):
    """A fresh kernel cached in tmp_path (its own dispatcher, so that nothing is compiled in memory yet)."""
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    from fastnn.kernels._jit import jit

    def twice(x):
        return 2 * x[0]

    kernel = jit(twice)
    return kernel, kernel._cache.compile_lock


def _held_elsewhere(path):
    """Whether another process could not take the lock file now (flock is per open file: a new handle will do)."""
    with open(path, "a+") as handle:
        if _compile_lock._try_lock(handle):
            return False
        return True


def test_the_lock_is_held_while_compiling_and_released_after_success_and_failure(tmp_path, monkeypatch):
    kernel, lock = _kernel(tmp_path, monkeypatch)
    seen = []
    original = kernel._compiler.compile

    def compile_and_look(*args, **kwargs):
        seen.append(_held_elsewhere(lock.path))
        return original(*args, **kwargs)

    monkeypatch.setattr(kernel._compiler, "compile", compile_and_look)
    assert kernel(np.ones(2)) == 2.0
    assert seen == [True] and not _held_elsewhere(lock.path)
    with pytest.raises(numba.core.errors.TypingError):
        kernel({1, 2})  # a set has no x[0]: the compile fails while typing, and the lock must not stay taken
    assert seen == [True, True] and not _held_elsewhere(lock.path)


HOLD = r"""
import fcntl, sys, time
handle = open(sys.argv[1], "a+")
fcntl.flock(handle, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _holder(path, seconds):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, path, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_waiter_loads_what_the_holder_wrote_and_compiles_itself_when_the_holder_dies(tmp_path, monkeypatch):
    _, lock = _kernel(tmp_path, monkeypatch)
    holder = _holder(lock.path, 0.5)
    start = time.monotonic()
    assert lock.on_miss(lambda: "loaded") == "loaded"  # waited for the holder's exit, then found the entry
    assert time.monotonic() - start >= 0.3
    holder.wait()
    holder = _holder(lock.path, 600)
    try:
        holder.kill()  # a killed compiler: its lock goes with it
        holder.wait()
        assert lock.on_miss(lambda: None) is None and _held_elsewhere(lock.path)  # compiles itself, holding the lock
    finally:
        lock.release()
    assert not _held_elsewhere(lock.path)


def test_a_stuck_holder_delays_a_waiter_by_wait_seconds_at_most(tmp_path, monkeypatch):
    _, lock = _kernel(tmp_path, monkeypatch)
    monkeypatch.setattr(_compile_lock, "WAIT_SECONDS", 0.3)
    holder = _holder(lock.path, 600)
    try:
        start = time.monotonic()
        assert lock.on_miss(lambda: "never looked at") is None  # gave up: compiles unlocked
        assert 0.3 <= time.monotonic() - start < 30
        assert lock._handle is None
    finally:
        holder.kill()
        holder.wait()


def test_a_follower_waits_but_never_holds_a_lock(tmp_path, monkeypatch):
    _, lock = _kernel(tmp_path, monkeypatch)
    monkeypatch.setattr(_compile_lock, "_follower", True)
    assert lock.on_miss(lambda: None) is None
    assert lock._handle is None and not _held_elsewhere(lock.path)
    holder = _holder(lock.path, 0.3)
    assert lock.on_miss(lambda: "loaded") == "loaded"
    holder.wait()
