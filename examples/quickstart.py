"""Quickstart: fastnn's MLPClassifier next to scikit-learn's on the bundled digits data set.
=========================================================================================

Both models get the same pipeline (StandardScaler -> MLP) and the same hyperparameters; the script prints
test accuracy and fit time of each and the speed ratio. Needs only fastnn's core dependencies.

::

    python examples/quickstart.py           # 200 epochs, as scikit-learn's default max_iter
    python examples/quickstart.py --fast    # 30 epochs (seconds)

The first run of fastnn on a machine compiles its Numba kernels (a few seconds, cached on disk afterwards);
that one-time cost is measured and printed separately from the fit time.
"""
import argparse
import os
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastnn import MLPClassifier

# Figures go next to this script. sphinx-gallery runs it as __main__ from this folder, without __file__.
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__", "_"))), "figures")


def _fit_timed(model, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # --fast stops before convergence on purpose
        model.fit(X, y)
    return time.perf_counter() - start


def main(fast=False, out_dir=DEFAULT_OUT):
    """Train both MLPs; return accuracies, fit times and the speed ratio. ``out_dir`` is unused (no figures)."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    params = dict(hidden_layer_sizes=(100,), max_iter=30 if fast else 200, random_state=0)

    # One-time cost: compile (first run) or load (later runs) the Numba kernels the fit uses.
    # One epoch of the same model touches every kernel the timed fit uses (and warms BLAS and caches).
    start = time.perf_counter()
    warmup = make_pipeline(StandardScaler(), MLPClassifier(**{**params, "max_iter": 1}))
    _fit_timed(warmup, X_train, y_train)
    warmup.predict(X_test)
    compile_time = time.perf_counter() - start

    results = {"n_train": len(X_train), "n_test": len(X_test), "max_iter": params["max_iter"],
               "compile_time": compile_time}
    for name, cls in (("fastnn", MLPClassifier), ("sklearn", SklearnMLPClassifier)):
        model = make_pipeline(StandardScaler(), cls(**params))
        results[f"{name}_fit_time"] = _fit_timed(model, X_train, y_train)
        results[f"{name}_accuracy"] = model.score(X_test, y_test)
        results[f"{name}_n_iter"] = model[-1].n_iter_
    results["speedup"] = results["sklearn_fit_time"] / results["fastnn_fit_time"]

    print(f"digits: {results['n_train']} training / {results['n_test']} test images, 64 features, 10 classes")
    print(f"MLP: hidden_layer_sizes=(100,), solver='adam', max_iter={params['max_iter']}, random_state=0\n")
    print(f"{'':22s}{'test accuracy':>15s}{'fit time (s)':>15s}{'epochs':>8s}")
    for name, label in (("fastnn", "fastnn.MLPClassifier"), ("sklearn", "sklearn MLPClassifier")):
        print(f"{label:22s}{results[name + '_accuracy']:15.4f}{results[name + '_fit_time']:15.3f}"
              f"{results[name + '_n_iter']:8d}")
    print(f"\nspeed ratio (scikit-learn fit time / fastnn fit time): {results['speedup']:.1f}x")
    print(f"not included above: fastnn's one-time kernel compile (first run) or cache load: {compile_time:.2f} s")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--fast", action="store_true", help="30 epochs instead of 200")
    args = parser.parse_args()
    main(fast=args.fast)
