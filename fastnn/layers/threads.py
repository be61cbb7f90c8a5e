"""The thread policy of the conv and pooling layers.

A conv or pooling pass over a batch splits its samples into one contiguous range per thread (static, equal
sizes) and runs the serial, nogil kernels on each range in Python threads, each with its own work buffers:
one fork/join per layer pass. While the ranges run, BLAS is held at one thread (every BLAS library that
threadpoolctl sees, SciPy's OpenBLAS included, which Numba's np.dot calls), so the per-range GEMMs never wait
for a second BLAS thread; it is restored when the last concurrent pass ends. The thread budget is the BLAS
thread setting when the pass starts (so threadpool_limits(1), OMP/OPENBLAS_NUM_THREADS and joblib's worker
limits keep fastnn on one thread), at most the number of CPUs; a pass whose work per range would be below
``min_work`` stays on fewer threads. Python threads instead of prange: the same kernels serve one and many
threads, so threads add no compile time.
"""
import contextlib
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

#: Multiply-adds (conv) or values (pooling) per range below which a pass is not split further.
MIN_WORK = {"conv": 1 << 21, "pool": 1 << 17}

_lock = threading.Lock()
_held = 0  # passes currently holding BLAS at one thread
_saved = ()  # the BLAS thread counts before the first of them
_executor = None  # (pid, ThreadPoolExecutor): a forked child makes its own


@functools.lru_cache(maxsize=None)
def _blas():
    """threadpoolctl's controllers of the loaded BLAS libraries (SciPy's loaded first: Numba's GEMMs call it)."""
    import scipy.linalg.cython_blas  # noqa: F401
    from threadpoolctl import ThreadpoolController

    return tuple(ThreadpoolController().select(user_api="blas").lib_controllers)


@functools.lru_cache(maxsize=None)
def _cpus():
    return os.cpu_count() or 1  # 7 us a call on a 2-vCPU VM: asked once


def thread_budget():
    """Threads a conv/pool pass may use now: the BLAS thread setting (the smallest over the BLAS libraries), at
    most ``os.cpu_count()``."""
    with _lock:
        counts = _saved if _held else tuple(lib.get_num_threads() for lib in _blas())
    return max(1, min((*counts, _cpus())))


def split(n, work_per_sample, kind="conv"):
    """Contiguous sample ranges ``[(start, stop), ...]`` covering ``range(n)``, one per thread of the budget, fewer
    when a range would hold less than ``MIN_WORK[kind]`` work (never an empty range; ``[(0, 0)]`` when ``n == 0``)."""
    if n < 2 or n * work_per_sample < 2 * MIN_WORK[kind]:
        return [(0, n)]  # too little to split: the thread budget (BLAS queries) is not asked
    t = min(thread_budget(), n, int(n * work_per_sample // MIN_WORK[kind]))
    t = max(t, 1)
    bounds = [n * i // t for i in range(t + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def _pool():
    global _executor
    with _lock:
        if _executor is None or _executor[0] != os.getpid():
            _executor = (os.getpid(), ThreadPoolExecutor(_cpus(), thread_name_prefix="fastnn"))
        return _executor[1]


def _hold_blas(limit=1):
    global _held, _saved
    with _lock:
        if _held == 0:
            _saved = tuple(lib.get_num_threads() for lib in _blas())
        for lib in _blas():
            if lib.get_num_threads() > limit:
                lib.set_num_threads(limit)
        _held += 1


def _release_blas():
    global _held
    with _lock:
        _held -= 1
        if _held == 0:
            for lib, count in zip(_blas(), _saved):
                lib.set_num_threads(count)


@contextlib.contextmanager
def blas_at_most(limit):
    """BLAS at no more than ``limit`` threads within the block (restored when the last concurrent holder ends; conv
    and pooling passes inside still hold it at one)."""
    _hold_blas(limit)
    try:
        yield
    finally:
        _release_blas()


def run(fn, ranges):
    """``fn(t, start, stop)`` for every range ``t``: range 0 in the calling thread, the others in worker threads,
    with BLAS at one thread meanwhile; returns when all are done (re-raising the first error)."""
    if len(ranges) == 1:
        fn(0, *ranges[0])
        return
    _hold_blas()
    try:
        futures = [_pool().submit(fn, t, a, b) for t, (a, b) in enumerate(ranges) if t]
        try:
            fn(0, *ranges[0])
        finally:
            wait(futures)  # no worker may still write into the buffers when this returns or raises
        for future in futures:
            future.result()
    finally:
        _release_blas()
