"""What the asv suite and ``compare.py`` share: data makers, an estimator factory, warm-up and measurement.

Data (cached per process, so asv's repeated ``setup`` calls and the comparison's repeats pay once):

- ``digits()``: scikit-learn's digits, 1797 x 64, scaled to [0, 1], float32, 10 classes (T1, T3, T4).
- ``synthetic(n_samples)``: the T2 problem, ``n_samples x 784`` float32, 10 classes: Gaussian clusters
  around random class means, noisy enough that one epoch does not reach 100 % accuracy. The full size is
  ``T2_FULL = 60000`` (compare.py); the asv suite uses ``T2_ASV = 10000`` so a quick run stays short.

The estimator factory ``make_estimator(impl, **hyper)`` builds ``fastnn.MLPClassifier`` or scikit-learn's
``MLPClassifier`` from one set of hyperparameters (``MLP_DEFAULTS``): relu, adam, lr 1e-3, alpha 1e-4,
shuffle, no early stopping, float32 data for both.

One epoch. Both libraries are timed on ``partial_fit(X, y)`` of an estimator that ``prepare_epoch`` has
already fitted once: ``partial_fit`` is exactly one shuffled pass over all rows in minibatches (one epoch),
with no weight initialisation and no convergence bookkeeping, and the first call (in ``prepare_epoch``, never
timed) is where fastnn's kernels compile or load from Numba's cache.
"""
import datetime
import functools
import os
import platform
import time
import tracemalloc
import warnings

import numpy as np

IMPLS = ["fastnn", "sklearn"]
#: Set (to anything) to measure fastnn's default ``fused='auto'`` instead of the fused epoch.
DEFAULT_PATH_ENV = "FASTNN_BENCH_DEFAULT_PATH"
T2_FULL = 60000
T2_ASV = 10000
N_FEATURES_T2 = 784
N_CLASSES = 10

MLP_DEFAULTS = dict(
    hidden_layer_sizes=(100,),
    activation="relu",
    solver="adam",
    alpha=1e-4,
    batch_size=32,
    learning_rate_init=1e-3,
    max_iter=1,
    shuffle=True,
    random_state=0,
    tol=0.0,
    n_iter_no_change=10**9,
    early_stopping=False,
)


@functools.lru_cache(maxsize=None)
def digits():
    """``(X, y)``: digits 1797 x 64 scaled to [0, 1] as float32, integer labels 0..9 (read-only arrays)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = np.ascontiguousarray(X / 16.0, dtype=np.float32)
    y = y.astype(np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


@functools.lru_cache(maxsize=None)
def synthetic(n_samples=T2_FULL, n_features=N_FEATURES_T2, n_classes=N_CLASSES, seed=0):
    """``(X, y)``: ``n_samples x n_features`` float32 in 10 Gaussian clusters (the T2 problem)."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, 0.08, (n_classes, n_features)).astype(np.float32)
    y = rng.integers(0, n_classes, n_samples)
    X = rng.standard_normal((n_samples, n_features), dtype=np.float32)  # unit scale, as after standardising
    X += means[y]
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def _fastnn_classifier():
    try:
        from fastnn import MLPClassifier
    except ImportError as exc:  # the estimator floor is not there yet
        raise NotImplementedError("fastnn.MLPClassifier is not available") from exc
    return MLPClassifier


def make_estimator(impl, **hyper):
    """An unfitted MLPClassifier of library ``impl`` ("fastnn" or "sklearn") with matched hyperparameters.

    ``hyper`` overrides ``MLP_DEFAULTS`` (any scikit-learn MLPClassifier parameter). fastnn also gets
    ``dtype=np.float32`` (its default) so both compute in float32 on float32 input, and ``fused=True``: the warm
    speed these cases measure is that of the fused epoch, which ``fused='auto'`` uses once ``fastnn.warmup()`` (or
    a long fit) has compiled it; without it, a one-epoch ``partial_fit`` would run layer by layer. With
    ``DEFAULT_PATH_ENV`` set (``compare.py --fresh``), fastnn keeps its default ``fused='auto'``.
    """
    params = {**MLP_DEFAULTS, **hyper}
    if impl == "sklearn":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(**params)
    if impl == "fastnn":
        fused = "auto" if os.environ.get(DEFAULT_PATH_ENV) else True
        return _fastnn_classifier()(**params, dtype=np.float32, fused=fused)
    raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}.")


def quiet():
    """Silence the ConvergenceWarning that a one-epoch fit raises by design."""
    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)


def prepare_epoch(impl, X, y, **hyper):
    """An estimator that has seen one epoch of ``(X, y)`` (``partial_fit`` with the classes).

    This first call allocates the weights and, for fastnn, compiles or loads every kernel one epoch and a
    prediction touch, so that timed ``one_epoch`` / ``predict_proba`` calls never include compile time.
    """
    quiet()
    est = make_estimator(impl, **hyper)
    est.partial_fit(X, y, classes=np.arange(N_CLASSES))
    est.predict_proba(X[:1])
    return est


def one_epoch(est, X, y):
    """Exactly one shuffled minibatch pass over all of ``(X, y)``."""
    est.partial_fit(X, y)


def fit_one_epoch(impl, X, y, **hyper):
    """A fresh one-epoch ``fit`` (``max_iter=1``), weight initialisation included (T4, T5)."""
    quiet()
    return make_estimator(impl, **hyper).fit(X, y)


def warm_up(impl, **hyper):
    """Compile (or load from cache) what a fit and a predict of ``impl`` touch, on a tiny problem."""
    X, y = digits()
    prepare_epoch(impl, X[:256], y[:256], **hyper)


def error_rate(est, X, y):
    """1 - accuracy (lower is better, as asv's ``track_`` assumes)."""
    return float(np.mean(est.predict(X) != y))


def traced_peak(fn, *args, **kwargs):
    """Peak bytes traced by ``tracemalloc`` while ``fn(*args, **kwargs)`` runs (NumPy allocations included)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        fn(*args, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return peak - base


def mlp_gflop(n_samples, sizes, input_grad=False):
    """FLOPs (in 1e9) of one epoch's GEMMs for an MLP with layer widths ``sizes`` (input first).

    Per sample and layer ``n_in -> n_out``: forward ``2 n_in n_out``, weight gradient ``2 n_in n_out``, and the
    input gradient ``2 n_in n_out`` for every layer but the first (unless ``input_grad``). No library needs
    the first layer's input gradient, so it is excluded by default: 784-100-10 at 60000 rows gives 19.2
    GFLOP (28.6 with it).
    """
    flop = 0
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        per = 2 * n_in * n_out
        flop += 2 * per + (per if (i > 0 or input_grad) else 0)
    return flop * n_samples / 1e9


def median_time(fn, repeats, *args):
    """Median wall time of ``repeats`` calls of ``fn(*args)``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


# ------------------------------------------------------------------------------------------ T4: start-up
# What a user's first script does: import fastnn, load digits, fit one epoch. Run in a fresh interpreter
# whose Numba cache directory is ``cache_dir``: empty for a cold start, filled by an earlier run for a warm one.
START_SETUP = """
import os
os.environ["NUMBA_CACHE_DIR"] = {cache_dir!r}
import warnings
warnings.simplefilter("ignore")
"""
START_STMT = """
import numpy as np
import fastnn
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
fastnn.MLPClassifier(hidden_layer_sizes=(100,), batch_size=32, max_iter=1, random_state=0).fit(X / 16.0, y)
"""


def start_code(cache_dir):
    """``(stmt, setup)`` source for a T4 start-up run with Numba's cache in ``cache_dir``."""
    return START_STMT, START_SETUP.format(cache_dir=str(cache_dir))


def fastnn_has_estimator():
    import fastnn

    return hasattr(fastnn, "MLPClassifier")


def run_start(cache_dir, python=None):
    """Wall seconds of a fresh ``python`` process running the T4 script with Numba's cache in ``cache_dir``
    (interpreter start-up included: what a user waits for)."""
    import subprocess
    import sys

    stmt, setup = start_code(cache_dir)
    t0 = time.perf_counter()
    subprocess.run([python or sys.executable, "-c", setup + stmt], check=True)
    return time.perf_counter() - t0


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def machine_info():
    """One line: CPU, cores, OS, library versions, BLAS and its threads, load average and date."""
    import numba
    import scipy
    import sklearn

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = (f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
                f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}")
    if torch_available():
        import torch

        versions += f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(f"{p['internal_api']} {p['version']} ({p['num_threads']} threads)"
                         for p in threadpool_info() if p["user_api"] == "blas")
    except Exception:  # threadpoolctl missing or confused: not worth failing the report
        blas = "unknown"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; {versions}; BLAS: {blas}; "
            f"load average at start {load}; {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}")
