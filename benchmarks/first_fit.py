"""A new user's first contact, measured against scikit-learn in the same run: fresh processes, empty kernel cache.

    python benchmarks/first_fit.py                 # every case, 3 alternating repeats (several minutes)
    python benchmarks/first_fit.py --cases cold --repeats 1 --quick   # what tests/test_benchmarks.py runs

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
from fastnn.cli.warmup import _CompileTimer
from numba.core import event
params = dict(max_iter=5 if QUICK else 20)
MLPClassifier(**params).fit(X, y).predict_proba(X)
changes = {{"depth": dict(hidden_layer_sizes=(100, 100, 100)), "width": dict(hidden_layer_sizes=(37,)),
           "activation": dict(activation="tanh"), "solver": dict(solver="sgd"), "loss (binary)": "binary",
           "loss (regression)": "regression"}}
out = {{}}
for name, change in changes.items():
    timer = _CompileTimer()
    event.register("numba:compile", timer)
    if change == "binary":
        MLPClassifier(**params).fit(X, y % 2).predict_proba(X)
    elif change == "regression":
        MLPRegressor(**params).fit(X, y / 10.0).predict(X)
    else:
        MLPClassifier(**params, **change).fit(X, y).predict_proba(X)
    event.unregister("numba:compile", timer)
    out[name] = sum(timer.seconds.values())
print(json.dumps(out))
"""

GRID = PRELUDE + """
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
if "{impl}" == "fastnn":
    from fastnn import MLPClassifier
else:
    from sklearn.neural_network import MLPClassifier
grid = {{"mlpclassifier__hidden_layer_sizes": [(50,), (100,), (50, 50), (100, 100), (50, 50, 50)],
        "mlpclassifier__alpha": [1e-4, 1e-2]}}
if QUICK:
    grid = {{"mlpclassifier__hidden_layer_sizes": [(20,)], "mlpclassifier__alpha": [1e-4, 1e-2]}}
pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=5 if QUICK else 100, random_state=0))
search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
print(json.dumps({{"score": search.best_score_}}))
"""

CNN = PRELUDE + """
from fastnn import CNNClassifier
start = time.perf_counter()
CNNClassifier(input_shape=(1, 8, 8), max_iter=2 if QUICK else 10, random_state=0).fit(X / 16.0, y).predict_proba(X)
print(json.dumps({{"seconds": time.perf_counter() - start}}))
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
    finally:
        if fresh:
            shutil.rmtree(cache, ignore_errors=True)
    return json.loads(out.stdout.strip().splitlines()[-1]), wall


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


def case_grid(repeats, quick):
    cold, warm, sk = [], [], []
    warm_cache = tempfile.mkdtemp(prefix="fastnn-warm-")
    try:
        run(GRID.format(impl="fastnn", quick=quick), warm_cache)  # fills the warm cache
        for _ in range(repeats):
            cold.append(run(GRID.format(impl="fastnn", quick=quick))[1])
            sk.append(run(GRID.format(impl="sklearn", quick=quick))[1])
            warm.append(run(GRID.format(impl="fastnn", quick=quick), warm_cache)[1])
    finally:
        shutil.rmtree(warm_cache, ignore_errors=True)
    s = statistics.median(sk)
    c, w = statistics.median(cold), statistics.median(warm)
    return [("first grid search, empty cache (wall)", f"{c:.1f} s", f"{s:.1f} s", f"{c / s:.2f}x", "<= 0.7x"),
            ("same grid search, warm cache (wall)", f"{w:.1f} s", f"{s:.1f} s", f"{w / s:.2f}x", "<= 0.49x")]


def case_cnn(repeats, quick):
    times = [run(CNN.format(quick=quick))[0]["seconds"] for _ in range(repeats)]
    return [("CNNClassifier cold first fit, digits", f"{statistics.median(times):.2f} s", "-", "-", "<= 4 s")]


CASES = {"cold": case_cold, "extra": case_extra, "grid": case_grid, "cnn": case_cnn}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny fits: checks the script, measures nothing")
    args = parser.parse_args(argv)
    rows = [row for case in args.cases for row in CASES[case](args.repeats, args.quick)]
    lines = ["| case | fastnn | scikit-learn | fastnn / scikit-learn | goal |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    print("\n".join(lines))
    print(f"load average at the end: {os.getloadavg()}")
    return rows


if __name__ == "__main__":
    main()
