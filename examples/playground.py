"""Playground: what the hidden activation and hand-made features do to a decision boundary.
========================================================================================

In the spirit of the TensorFlow Playground exercise: four 2-D data sets (xor, circles, spirals, gaussians),
a small network with identity, logistic or relu hidden units, each trained on the raw inputs (x1, x2) and on
the inputs plus the squared features (x1^2, x2^2). What to look for:

- identity hidden units make the whole network linear: on circles it cannot do better than a straight cut,
  however many units it has. Give it x1^2 and x2^2 and the same linear network separates the circles,
  because the boundary x1^2 + x2^2 = r^2 is a straight line in those features. Feature engineering outside
  the network and nonlinear units inside it are two routes to the same place. (Squares do not rescue the
  linear network on xor: that boundary needs the product x1 * x2, which is not among the features.)
- logistic units learn the circle from the raw inputs.
- relu units need fewer epochs to converge (``n_iter_``) and draw a boundary made of straight pieces, less
  smooth than the logistic one.

::

    MPLBACKEND=Agg python examples/playground.py [--fast]

Prints test accuracy and epochs to convergence per cell and saves ``figures/playground.png``.
"""
import argparse
import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from fastnn import MLPClassifier
from fastnn.datasets import make_circles, make_gaussians, make_spirals, make_xor

# Figures go next to this script. sphinx-gallery runs it as __main__ from this folder, without __file__.
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__", "_"))), "figures")

DATASETS = {
    "xor": lambda n, rs: make_xor(n, noise=0.05, random_state=rs),
    "circles": lambda n, rs: make_circles(n, noise=0.05, random_state=rs),
    "spirals": lambda n, rs: make_spirals(n, noise=0.03, random_state=rs),
    "gaussians": lambda n, rs: make_gaussians(n, noise=0.35, random_state=rs),
}
ACTIVATIONS = ("identity", "logistic", "relu")


def add_squares(X):
    """(x1, x2) -> (x1, x2, x1^2, x2^2)."""
    return np.hstack([X, X**2])


def make_model(activation, squares, fast):
    net = MLPClassifier(
        hidden_layer_sizes=(8, 8),
        activation=activation,
        learning_rate_init=0.03,  # the Playground's default learning rate
        batch_size=32,
        max_iter=150 if fast else 400,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=0,
    )
    if squares:
        return make_pipeline(FunctionTransformer(add_squares), net)
    return make_pipeline(net)


def main(fast=False, out_dir=DEFAULT_OUT):
    """Train the 4 x 6 grid; return ``{(dataset, activation, squares): {"accuracy", "n_iter"}}`` and the figure path."""
    n_samples = 300 if fast else 600
    configs = [(act, sq) for sq in (False, True) for act in ACTIVATIONS]
    results = {}
    fitted = {}
    start = time.perf_counter()
    for name, make in DATASETS.items():
        X, y = make(n_samples, 0)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
        for act, sq in configs:
            model = make_model(act, sq, fast)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X_train, y_train)
            results[(name, act, sq)] = {"accuracy": model.score(X_test, y_test), "n_iter": model[-1].n_iter_}
            fitted[(name, act, sq)] = (model, X_train, y_train)
    train_time = time.perf_counter() - start

    header = "".join(f"{act + (' +sq' if sq else ''):>16s}" for act, sq in configs)
    print(f"test accuracy (epochs to converge), hidden_layer_sizes=(8, 8), {n_samples} points per set\n")
    print(f"{'':11s}{header}")
    for name in DATASETS:
        cells = "".join(f"{results[(name, a, s)]['accuracy']:9.2f} ({results[(name, a, s)]['n_iter']:3d})"
                        for a, s in configs)
        print(f"{name:11s}{cells}")
    print(f"\n{len(results)} networks trained in {train_time:.1f} s")

    path = plot(fitted, configs, out_dir, grid_resolution=60 if fast else 120)
    print(f"figure: {path}")
    return {"results": results, "figures": [path], "train_time": train_time}


def plot(fitted, configs, out_dir, grid_resolution):
    import matplotlib

    if os.environ.get("MPLBACKEND") is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.inspection import DecisionBoundaryDisplay

    from fastnn.plotting import save_figure

    names = list(DATASETS)
    fig, axes = plt.subplots(len(names), len(configs), figsize=(1.6 * len(configs), 1.6 * len(names)),
                             sharex="row", sharey="row")
    for i, name in enumerate(names):
        for j, (act, sq) in enumerate(configs):
            model, X, y = fitted[(name, act, sq)]
            ax = axes[i, j]
            DecisionBoundaryDisplay.from_estimator(model, X, response_method="predict_proba", ax=ax, eps=0.2,
                                                   cmap="RdBu", alpha=0.7, grid_resolution=grid_resolution,
                                                   levels=np.linspace(0, 1, 6))
            ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", edgecolors="k", linewidths=0.3, s=6)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel("")
            ax.set_ylabel(name if j == 0 else "")
            if i == 0:
                ax.set_title(act + (" + x\u00b2" if sq else ""), fontsize=9)
    fig.tight_layout()
    path = save_figure(fig, os.path.join(out_dir, "playground.png"), max_colors=32)
    plt.close(fig)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--fast", action="store_true", help="fewer points and epochs")
    parser.add_argument("--out-dir", default=DEFAULT_OUT, help="where to save the figure")
    args = parser.parse_args()
    main(fast=args.fast, out_dir=args.out_dir)
