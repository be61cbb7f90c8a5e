"""Grid search: GridSearchCV over hidden sizes x alpha x activation, fastnn vs scikit-learn's MLP.
===============================================================================================

fastnn's estimators are ordinary scikit-learn estimators (``get_params``/``set_params``/``clone`` work, and
fitted models pickle), so ``GridSearchCV(..., n_jobs=2)`` runs them in joblib worker processes like any other.
The script runs the same search twice, over ``fastnn.MLPClassifier`` and over
``sklearn.neural_network.MLPClassifier``, prints the best parameters, the best score and the wall-clock time
of each, and saves a heatmap of fastnn's mean cross-validated accuracy (``figures/grid_search.png``).

::

    MPLBACKEND=Agg python examples/grid_search.py [--fast] [--n-jobs 2]

``examples/distributed_search.py`` runs the same search on a dask cluster.
"""
import argparse
import os
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fastnn import MLPClassifier

# Figures go next to this script. sphinx-gallery runs it as __main__ from this folder, without __file__.
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__", "_"))), "figures")


def make_search(estimator_cls, fast, n_jobs):
    """The search both examples share: StandardScaler + MLP, 3-fold CV, the grid below."""
    if fast:
        grid = {"mlp__hidden_layer_sizes": [(16,), (64,)], "mlp__alpha": [1e-4, 1e-1],
                "mlp__activation": ["relu"]}
        max_iter = 30
    else:
        grid = {"mlp__hidden_layer_sizes": [(16,), (64,), (128,), (64, 64)],
                "mlp__alpha": [1e-4, 1e-3, 1e-2, 1e-1, 1.0],
                "mlp__activation": ["relu", "tanh"]}
        max_iter = 100
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", estimator_cls(max_iter=max_iter, random_state=0))])
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    return GridSearchCV(pipe, grid, cv=cv, n_jobs=n_jobs)


def load_data(fast):
    X, y = load_digits(return_X_y=True)
    if fast:
        X, y = X[:600], y[:600]
    return X, y


def run_search(search, X, y):
    """Fit ``search`` with ConvergenceWarnings silenced and return the wall-clock time.

    (scikit-learn's joblib helpers carry the caller's warning filters into the worker processes.)
    """
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    return time.perf_counter() - start


def warm_up_workers(search, X, y):
    """Start the joblib workers and load fastnn's compiled kernels in each (a one-epoch search on a subset).

    joblib keeps its worker processes between calls, so the timed searches that follow compare training,
    not process start-up and imports. Returns the time it took.
    """
    warm = clone(search).set_params(estimator__mlp__max_iter=1)
    return run_search(warm, X[:300], y[:300])


def score_table(search):
    """Mean test scores as ``{activation: array (n_hidden, n_alpha)}`` plus the axis labels."""
    grid = search.param_grid
    hidden, alphas, acts = grid["mlp__hidden_layer_sizes"], grid["mlp__alpha"], grid["mlp__activation"]
    res = search.cv_results_
    tables = {a: np.full((len(hidden), len(alphas)), np.nan) for a in acts}
    for params, score in zip(res["params"], res["mean_test_score"]):
        i = hidden.index(params["mlp__hidden_layer_sizes"])
        j = alphas.index(params["mlp__alpha"])
        tables[params["mlp__activation"]][i, j] = score
    return tables, hidden, alphas


def report(name, search, seconds):
    best = {k.removeprefix("mlp__"): v for k, v in search.best_params_.items()}
    print(f"{name:22s}{seconds:9.1f} s   best CV accuracy {search.best_score_:.4f}   best {best}")


def main(fast=False, out_dir=DEFAULT_OUT, n_jobs=2):
    """Run both searches; return times, best scores/params, fastnn's score tables and the figure path."""
    X, y = load_data(fast)
    searches = {"fastnn": make_search(MLPClassifier, fast, n_jobs),
                "sklearn": make_search(SklearnMLPClassifier, fast, n_jobs)}
    n_candidates = len(searches["fastnn"].param_grid["mlp__alpha"]) * len(
        searches["fastnn"].param_grid["mlp__hidden_layer_sizes"]) * len(searches["fastnn"].param_grid["mlp__activation"])
    print(f"digits ({len(X)} images), {n_candidates} candidates x 3 folds = {3 * n_candidates} fits, n_jobs={n_jobs}\n")
    results = {"warmup_time": warm_up_workers(searches["fastnn"], X, y)}
    for name, search in searches.items():
        seconds = run_search(search, X, y)
        results[f"{name}_time"] = seconds
        results[f"{name}_best_score"] = search.best_score_
        results[f"{name}_best_params"] = search.best_params_
        report(f"{name} MLPClassifier", search, seconds)
    results["speedup"] = results["sklearn_time"] / results["fastnn_time"]
    print(f"\nspeed ratio (scikit-learn time / fastnn time): {results['speedup']:.1f}x")
    print(f"not included: starting {n_jobs} workers and loading fastnn's kernels in them, {results['warmup_time']:.1f} s")

    tables, hidden, alphas = score_table(searches["fastnn"])
    results["scores"] = tables
    results["figures"] = [plot(tables, hidden, alphas, out_dir)]
    print(f"figure: {results['figures'][0]}")
    return results


def plot(tables, hidden, alphas, out_dir, filename="grid_search.png",
         title="GridSearchCV over fastnn.MLPClassifier (digits, 3-fold)"):
    import matplotlib

    if os.environ.get("MPLBACKEND") is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fastnn.plotting import save_figure

    lo = min(np.nanmin(t) for t in tables.values())
    hi = max(np.nanmax(t) for t in tables.values())
    fig, axes = plt.subplots(1, len(tables), figsize=(1.0 * len(alphas) * len(tables) + 2.2, 0.55 * len(hidden) + 1.5),
                             squeeze=False, layout="constrained")
    for k, (ax, (act, table)) in enumerate(zip(axes[0], tables.items())):
        im = ax.imshow(table, cmap="viridis", vmin=lo, vmax=hi, aspect="auto")
        for (i, j), v in np.ndenumerate(table):
            ax.text(j, i, f"{v:.3f}", ha="center", va="center", fontsize=7,
                    color="w" if v < (lo + hi) / 2 else "k")
        ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas])
        ax.set_yticks(range(len(hidden)), [str(h) if k == 0 else "" for h in hidden])
        ax.set_xlabel("alpha (L2)")
        if k == 0:
            ax.set_ylabel("hidden_layer_sizes")
        ax.set_title(f"activation={act!r}", fontsize=9)
    fig.colorbar(im, ax=axes[0].tolist(), label="mean CV accuracy")
    fig.suptitle(title, fontsize=10)
    path = save_figure(fig, os.path.join(out_dir, filename), max_colors=256)
    plt.close(fig)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--fast", action="store_true", help="a 2 x 2 grid on 600 images, 30 epochs")
    parser.add_argument("--n-jobs", type=int, default=2, help="joblib workers (default 2)")
    parser.add_argument("--out-dir", default=DEFAULT_OUT, help="where to save the figure")
    args = parser.parse_args()
    main(fast=args.fast, out_dir=args.out_dir, n_jobs=args.n_jobs)
