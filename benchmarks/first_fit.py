"""A new user's first contact, measured against scikit-learn in the same run: fresh processes, empty kernel cache.

    python benchmarks/first_fit.py                 # every case, 3 alternating repeats (several minutes)
    python benchmarks/first_fit.py --cases cold --repeats 1 --quick   # what tests/test_benchmarks.py runs
    python -m benchmarks.first_fit --fresh         # the default path a new user gets, no warm-up (~4 minutes)

Cases (each a fresh interpreter with its own empty ``NUMBA_CACHE_DIR`` unless said otherwise; medians):

- ``cold``: ``MLPClassifier().fit(X, y)`` then ``predict_proba`` on digits at the defaults, import excluded, for
  fastnn (empty cache) and scikit-learn; the ratio fastnn / scikit-learn (goal <= 3).
- ``extra``: after that first fit, the compile seconds (Numba's compile events) that one more fit in the same
  process costs when it changes the depth, the width, the activation, the loss or the solver (goal <= 0.3 s each).
- ``grid``: a first grid search, ``make_pipeline(StandardScaler(), MLPClassifier(max_iter=100, random_state=0))``
  over 5 ``hidden_layer_sizes`` x 2 ``alpha``, ``cv=3``, ``n_jobs=2``, wall time of a fresh process (import
  included): fastnn with an empty cache and with a warm one, against scikit-learn (goals: <= 0.7x cold, <= 0.49x
  warm).
- ``cnn``: ``CNNClassifier`` first fit on digits (8x8 images), empty cache (goal <= 4 s).

``--fresh`` (the default path: fresh processes, empty ``NUMBA_CACHE_DIR``, no ``fastnn warmup``, default
parameters but those named; scikit-learn's MLP measured in the same run, alternating, medians) runs these instead:

- ``session``: one process per library doing what a session does. A cold first fit + ``predict_proba`` at the
  defaults on digits (float64, as loaded), then ``SESSION_FITS`` fits of digits (float32, hidden 100, adam, batch
  32, 20 epochs), a 20000x784 float32 fit (hidden 100, batch 200, 3 epochs) and one-row ``predict_proba``.
  Reported: the cold fit, the median of the 2nd and later digits fits, the big fit and the predict, each as
  scikit-learn / fastnn, and when (seconds after the cold fit began) fastnn's fits began running fused.
- ``later``: the same fits in a later process, whose cache that session filled (its background compile waited for).
- ``grid`` with ``--fresh`` adds the threading backend (``joblib.parallel_backend("threading", n_jobs=2)`` with one
  BLAS thread per fit: ``threadpool_limits(1, user_api="blas")``) and the search's floor: the same search of an
  estimator whose fits cost nothing, in loky workers (Python starts, imports, workers, scoring), which no
  estimator's search can beat.
- ``cnn``: as above (``CNNClassifier``'s cold first fit, with its compile helper: the default path).
- ``import``: what ``import fastnn`` adds to ``import sklearn.neural_network, sklearn.model_selection``.

``FASTNN_BACKGROUND_COMPILE=0`` in the environment measures the path without background compiles.

Timings move 10-30% with the machine's load: compare ratios from one run, and read ``uptime`` printed at the end.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

PRELUDE = """
import json, time, warnings
warnings.simplefilter("ignore")
import numpy as np
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
QUICK = {quick}
"""

COLD = PRELUDE + """
if "{impl}" == "fastnn":
    from fastnn import MLPClassifier
else:
    from sklearn.neural_network import MLPClassifier
params = dict(max_iter=5) if QUICK else {{}}
start = time.perf_counter()
MLPClassifier(**params).fit(X, y).predict_proba(X)
print(json.dumps({{"seconds": time.perf_counter() - start}}))
"""

EXTRA = PRELUDE + """
from fastnn import MLPClassifier, MLPRegressor
from fastnn.cli.compile_timer import compile_seconds
params = dict(max_iter=5 if QUICK else 20)
MLPClassifier(**params).fit(X, y).predict_proba(X)
changes = {{"depth": dict(hidden_layer_sizes=(100, 100, 100)), "width": dict(hidden_layer_sizes=(37,)),
           "activation": dict(activation="tanh"), "solver": dict(solver="sgd"), "loss (binary)": "binary",
           "loss (regression)": "regression"}}
out = {{}}
for name, change in changes.items():
    with compile_seconds() as seconds:
        if change == "binary":
            MLPClassifier(**params).fit(X, y % 2).predict_proba(X)
        elif change == "regression":
            MLPRegressor(**params).fit(X, y / 10.0).predict(X)
        else:
            MLPClassifier(**params, **change).fit(X, y).predict_proba(X)
    out[name] = sum(seconds.values())
print(json.dumps(out))
"""

GRID = PRELUDE + """
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
if "{impl}" == "fastnn":
    from fastnn import MLPClassifier
elif "{impl}" == "floor":  # the search's own cost: an estimator whose fits and predictions cost nothing
    from sklearn.base import BaseEstimator, ClassifierMixin

    class MLPClassifier(ClassifierMixin, BaseEstimator):
        def __init__(self, hidden_layer_sizes=(100,), alpha=1e-4, max_iter=200, random_state=None):
            self.hidden_layer_sizes, self.alpha = hidden_layer_sizes, alpha
            self.max_iter, self.random_state = max_iter, random_state

        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            return np.full(len(X), self.classes_[0])
else:
    from sklearn.neural_network import MLPClassifier
grid = {{"mlpclassifier__hidden_layer_sizes": [(50,), (100,), (50, 50), (100, 100), (50, 50, 50)],
        "mlpclassifier__alpha": [1e-4, 1e-2]}}
if QUICK:
    grid = {{"mlpclassifier__hidden_layer_sizes": [(20,)], "mlpclassifier__alpha": [1e-4, 1e-2]}}
pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=5 if QUICK else 100, random_state=0))
if "{backend}" == "threading":  # one BLAS thread per fit, as loky gives its workers (README: searches in threads)
    import joblib
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1, user_api="blas"), joblib.parallel_backend("threading", n_jobs=2):
        search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
else:
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
print(json.dumps({{"score": search.best_score_}}))
"""

CNN = PRELUDE + """
from fastnn import CNNClassifier
start = time.perf_counter()
CNNClassifier(input_shape=(1, 8, 8), max_iter=2 if QUICK else 10, random_state=0).fit(X / 16.0, y).predict_proba(X)
print(json.dumps({{"seconds": time.perf_counter() - start}}))
"""


SESSION_FITS = 6

SESSION = PRELUDE + """
import time
t_start = time.perf_counter()
if "{impl}" == "fastnn":
    from fastnn import MLPClassifier
else:
    from sklearn.neural_network import MLPClassifier
out = {{"fused_at": None}}

def fused(est):
    return getattr(getattr(est, "_net", None), "fused_epochs", 0)

def timed(make, X, y):
    est = make()
    t0 = time.perf_counter()
    est.fit(X, y)
    seconds = time.perf_counter() - t0
    if fused(est) and out["fused_at"] is None:
        out["fused_at"] = t0 - t_start
    return est, seconds

if {cold}:
    t0 = time.perf_counter()
    MLPClassifier(**(dict(max_iter=5) if QUICK else {{}})).fit(X, y).predict_proba(X)
    out["cold"] = time.perf_counter() - t0
X32 = np.ascontiguousarray(X / 16.0, dtype=np.float32)
small = dict(hidden_layer_sizes=(100,), solver="adam", batch_size=32, max_iter=2 if QUICK else 20, tol=0.0,
             n_iter_no_change=10**9)
out["digits"] = []
for i in range({fits}):
    est, seconds = timed(lambda: MLPClassifier(random_state=i, **small), X32, y)
    out["digits"].append(seconds)
rng = np.random.default_rng(0)
n = 2000 if QUICK else 20000
means = rng.normal(0.0, 0.08, (10, 784)).astype(np.float32)
yb = rng.integers(0, 10, n)
Xb = rng.standard_normal((n, 784), dtype=np.float32) + means[yb]
big = dict(hidden_layer_sizes=(100,), batch_size=200, max_iter=3, tol=0.0, n_iter_no_change=10**9)
out["big"] = min(timed(lambda: MLPClassifier(random_state=0, **big), Xb, yb)[1] for _ in range(2))
row = X32[:1]
est.predict_proba(row)
calls = []
for _ in range(20 if QUICK else 300):
    t0 = time.perf_counter()
    est.predict_proba(row)
    calls.append(time.perf_counter() - t0)
out["predict"] = float(np.median(calls))
print(json.dumps(out))
"""

IMPORT = """
import json, time
import sklearn.neural_network, sklearn.model_selection
t0 = time.perf_counter()
import fastnn
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def run(code, cache=None):
    """``(json printed by code, wall seconds)`` of a fresh interpreter, with ``NUMBA_CACHE_DIR=cache`` (a new
    empty folder when None, removed afterwards)."""
    import time

    fresh = cache is None
    cache = tempfile.mkdtemp(prefix="fastnn-first-") if fresh else cache
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    try:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - start
        _wait_for_background_compiles(cache)
    finally:
        if fresh:
            shutil.rmtree(cache, ignore_errors=True)
    return json.loads(out.stdout.strip().splitlines()[-1]), wall


def _wait_for_background_compiles(cache):
    """Block until no background compile holds a lock in ``cache``: one outlives the process that started it, and
    would otherwise share the cores with the next measurement (the peer's, in an alternating run)."""
    import glob

    try:
        import fcntl
    except ImportError:  # Windows: nothing to wait with
        return
    for path in glob.glob(os.path.join(cache, "**", "fused-*.lock"), recursive=True):
        with open(path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)


def case_cold(repeats, quick):
    times = {"fastnn": [], "sklearn": []}
    for _ in range(repeats):
        for impl in times:  # alternating
            times[impl].append(run(COLD.format(impl=impl, quick=quick))[0]["seconds"])
    f, s = statistics.median(times["fastnn"]), statistics.median(times["sklearn"])
    return [("cold first fit + predict_proba, digits, defaults", f"{f:.3f} s", f"{s:.3f} s", f"{f / s:.2f}x",
             "<= 3x")]


def case_extra(repeats, quick):
    runs = [run(EXTRA.format(quick=quick))[0] for _ in range(repeats)]
    return [(f"extra compile for a new {name}", f"{statistics.median(r[name] for r in runs):.2f} s", "-", "-",
             "<= 0.3 s") for name in runs[0]]


def case_grid(repeats, quick, threading=False):
    """Wall times of fresh processes running the grid search: fastnn with an empty cache and a warm one (and, with
    ``threading``, warm under joblib's threading backend), against scikit-learn's default (loky) search."""
    times = {"cold": [], "warm": [], "threads": [], "floor": [], "sk": []}
    warm_cache = tempfile.mkdtemp(prefix="fastnn-warm-")

    def grid(impl, backend="loky"):
        return GRID.format(impl=impl, quick=quick, backend=backend)

    try:
        run(grid("fastnn"), warm_cache)  # fills the warm cache
        _wait_for_background_compiles(warm_cache)
        for _ in range(repeats):
            times["cold"].append(run(grid("fastnn"))[1])
            times["sk"].append(run(grid("sklearn"))[1])
            times["warm"].append(run(grid("fastnn"), warm_cache)[1])
            if threading:
                times["threads"].append(run(grid("fastnn", "threading"), warm_cache)[1])
                times["floor"].append(run(grid("floor"))[1])
    finally:
        shutil.rmtree(warm_cache, ignore_errors=True)
    m = {k: statistics.median(v) for k, v in times.items() if v}
    s = m["sk"]
    goals = ("<= 0.5x", "<= 0.35x") if threading else ("<= 0.7x", "<= 0.49x")
    rows = [("first grid search, empty cache (wall)", f"{m['cold']:.1f} s", f"{s:.1f} s", f"{m['cold'] / s:.2f}x",
             goals[0]),
            ("same grid search, warm cache (wall)", f"{m['warm']:.1f} s", f"{s:.1f} s", f"{m['warm'] / s:.2f}x",
             goals[1])]
    if threading:
        rows.append(("same, warm, joblib threading backend (wall)", f"{m['threads']:.1f} s", f"{s:.1f} s",
                     f"{m['threads'] / s:.2f}x", "<= 0.25x"))
        rows.append(("floor: the same search (loky) of an estimator whose fits cost nothing", f"{m['floor']:.1f} s",
                     f"{s:.1f} s", f"{m['floor'] / s:.2f}x", "-"))
    return rows


def case_cnn(repeats, quick):
    times = [run(CNN.format(quick=quick))[0]["seconds"] for _ in range(repeats)]
    return [("CNNClassifier cold first fit, digits", f"{statistics.median(times):.2f} s", "-", "-", "<= 4 s")]


def _ratio(sk, f):
    """scikit-learn's time over fastnn's: how many times faster fastnn is."""
    return f"{sk / f:.2f}x faster"


def case_session(repeats, quick):
    """The fresh ``session`` and ``later`` cases: one fastnn process with an empty cache, then one with the cache
    it filled, alternating with scikit-learn's session."""
    keys = ("cold", "digits", "big", "predict", "fused_at")
    fresh, later, sk = {k: [] for k in keys}, {k: [] for k in keys}, {k: [] for k in keys}

    def add(into, out):
        into["cold"].append(out.get("cold"))
        into["digits"].append(statistics.median(out["digits"][1:] if "cold" not in out else out["digits"]))
        into["big"].append(out["big"])
        into["predict"].append(out["predict"])
        into["fused_at"].append(out["fused_at"])
        into.setdefault("first", []).append(out["digits"][0])

    for _ in range(repeats):
        cache = tempfile.mkdtemp(prefix="fastnn-session-")
        try:
            add(fresh, run(SESSION.format(impl="fastnn", quick=quick, cold=True, fits=SESSION_FITS), cache)[0])
            add(sk, run(SESSION.format(impl="sklearn", quick=quick, cold=True, fits=SESSION_FITS))[0])
            add(later, run(SESSION.format(impl="fastnn", quick=quick, cold=False, fits=SESSION_FITS), cache)[0])
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    m = {name: {k: statistics.median(v) if None not in v else None for k, v in d.items()}
         for name, d in (("fresh", fresh), ("later", later), ("sk", sk))}
    f, l, s = m["fresh"], m["later"], m["sk"]
    fused_at = "never" if f["fused_at"] is None else f"{f['fused_at']:.1f} s"
    return [
        ("cold first fit + predict_proba, digits, defaults", f"{f['cold']:.2f} s", f"{s['cold']:.2f} s",
         f"{f['cold'] / s['cold']:.2f}x", "<= 2x"),
        (f"session: 2nd-{SESSION_FITS + 1}th fits, digits h100 batch 32, 20 epochs (median; fused from {fused_at})",
         f"{f['digits'] * 1e3:.0f} ms", f"{s['digits'] * 1e3:.0f} ms", _ratio(s["digits"], f["digits"]),
         ">= 10x faster"),
        ("session: 20000x784 float32, h100, batch 200, 3 epochs", f"{f['big']:.2f} s", f"{s['big']:.2f} s",
         _ratio(s["big"], f["big"]), ">= 2.5x faster"),
        ("session: predict_proba, 1 row", f"{f['predict'] * 1e6:.0f} us", f"{s['predict'] * 1e6:.0f} us",
         _ratio(s["predict"], f["predict"]), ">= 10x faster"),
        ("later process: its first digits fit", f"{l['first'] * 1e3:.0f} ms", f"{s['digits'] * 1e3:.0f} ms",
         _ratio(s["digits"], l["first"]), ">= 10x faster"),
        ("later process: digits fits (median)", f"{l['digits'] * 1e3:.0f} ms", f"{s['digits'] * 1e3:.0f} ms",
         _ratio(s["digits"], l["digits"]), ">= 10x faster"),
        ("later process: 20000x784 fit", f"{l['big']:.2f} s", f"{s['big']:.2f} s", _ratio(s["big"], l["big"]),
         ">= 2.5x faster"),
        ("later process: predict_proba, 1 row", f"{l['predict'] * 1e6:.0f} us", f"{s['predict'] * 1e6:.0f} us",
         _ratio(s["predict"], l["predict"]), ">= 10x faster"),
    ]


def case_import(repeats, quick):
    times = [run(IMPORT)[0]["seconds"] for _ in range(max(repeats, 3))]
    return [("import fastnn after import sklearn", f"{statistics.median(times):.2f} s", "-", "-", "<= 0.3 s")]


CASES = {"cold": case_cold, "extra": case_extra, "grid": case_grid, "cnn": case_cnn}
FRESH_CASES = {"session": case_session, "grid": lambda repeats, quick: case_grid(repeats, quick, threading=True),
               "cnn": case_cnn, "import": case_import}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", choices=sorted({*CASES, *FRESH_CASES}),
                        help="default: cold extra grid cnn; with --fresh: session grid cnn import")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny fits: checks the script, measures nothing")
    parser.add_argument("--fresh", action="store_true", help="the default path without a warm-up (see above)")
    parser.add_argument("--table", help="also write the Markdown table, with date, machine and command, to this file")
    args = parser.parse_args(argv)
    cases = {**CASES, **FRESH_CASES} if args.fresh else CASES
    names = args.cases or list(FRESH_CASES if args.fresh else CASES)
    unknown = [name for name in names if name not in cases]
    if unknown:
        parser.error(f"cases {unknown} need {'no ' if args.fresh else ''}--fresh")
    print(f"load average at the start: {os.getloadavg()}", flush=True)
    print("| case | fastnn | scikit-learn | fastnn / scikit-learn time (or: how many times faster) | goal |\n|---|---|---|---|---|", flush=True)
    rows = []
    for case in names:  # each case's rows as soon as they are measured
        new = cases[case](args.repeats, args.quick)
        print("\n".join("| " + " | ".join(row) + " |" for row in new), flush=True)
        rows += new
    print(f"load average at the end: {os.getloadavg()}")
    if args.table:
        _write_table(args.table, rows, argv)
    return rows


def _write_table(path, rows, argv):
    from benchmarks.common import machine_info

    command = " ".join(["python -m benchmarks.first_fit", *(sys.argv[1:] if argv is None else argv)])
    if os.environ.get("FASTNN_BACKGROUND_COMPILE") == "0":
        command = "FASTNN_BACKGROUND_COMPILE=0 " + command
    lines = [f"Machine: {machine_info()}", "", f"Command: `{command}`", "",
             "| case | fastnn | scikit-learn | fastnn / scikit-learn time (or: how many times faster) | goal |",
             "|---|---|---|---|---|", *("| " + " | ".join(row) + " |" for row in rows)]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
