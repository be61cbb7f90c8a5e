"""Any network behind fit/predict: NeuralNetClassifier and NeuralNetRegressor with your own layer stack.
=====================================================================================================

Two stories, one figure (``figures/custom_network.png``):

1. Digits as (1, 8, 8) images: a conv stack with BatchNorm given as a list of fastnn layers to
   ``NeuralNetClassifier``, against ``CNNClassifier`` (the same conv block without BatchNorm) at the same epochs.
   The left panel shows the test accuracy after every epoch (``partial_fit``): with BatchNorm the stack is
   near its final accuracy after the first epoch. The printed table gives the accuracy after epoch 1 and at the end,
   and the fit time.
2. Regression with outliers: 15% of the training targets are pushed far up. ``loss='squared_error'`` chases them,
   ``loss='huber'`` (``huber_delta`` caps their pull) and ``'absolute_error'`` follow the clean curve; the right
   panel shows the three fits, the printed table their error on clean held-out data.

::

    MPLBACKEND=Agg python examples/custom_network.py [--fast]
"""
import argparse
import os
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

import fastnn
from fastnn.layers import BatchNorm, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Tanh

# Figures go next to this script. sphinx-gallery runs it as __main__ from this folder, without __file__.
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__", "_"))), "figures")


def bn_conv_stack():
    """Conv block and dense block, each normalised by BatchNorm before its activation."""
    return [Conv2D(16, 3, padding="same"), BatchNorm(), ReLU(), MaxPool2D(2), Flatten(), Dense(64), BatchNorm(), ReLU()]


def _epochs_of(model, X, y, X_test, y_test, epochs):
    """Train ``model`` one epoch at a time; returns (test accuracy after each epoch, fit seconds)."""
    classes = np.unique(y)
    scores, seconds = [], 0.0
    rng = np.random.RandomState(0)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        start = time.perf_counter()
        model.partial_fit(X[order], y[order], classes=classes)
        seconds += time.perf_counter() - start
        scores.append(model.score(X_test, y_test))
    return scores, seconds


def digits_story(fast):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.25, stratify=y, random_state=0)
    if fast:
        X_train, y_train = X_train[:600], y_train[:600]
    epochs = 4 if fast else 15
    common = dict(input_shape=(1, 8, 8), batch_size=64, learning_rate_init=0.01, random_state=0)
    models = {
        "NeuralNetClassifier conv16-BN-relu-pool -> 64-BN-relu": fastnn.NeuralNetClassifier(bn_conv_stack(), **common),
        "CNNClassifier conv16-relu-pool -> 64-relu (no BN)": fastnn.CNNClassifier(
            conv_layers=((16, 3),), hidden_layer_sizes=(64,), **common),
    }
    curves, times = {}, {}
    for name, model in models.items():
        curves[name], times[name] = _epochs_of(model, X_train, y_train, X_test, y_test, epochs)
    return {"curves": curves, "times": times, "epochs": epochs, "n_train": len(X_train)}


def outlier_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, (600, 1))
    y = np.sin(X[:, 0]) + 0.1 * rng.standard_normal(600)
    X_train, y_train, X_test, y_test = X[:400], y[:400].copy(), X[400:], y[400:]
    spoiled = rng.random(400) < 0.15
    y_train[spoiled] += rng.uniform(5, 15, spoiled.sum())
    return X_train, y_train, X_test, y_test, spoiled


def regression_story(fast):
    X_train, y_train, X_test, y_test, spoiled = outlier_data()
    grid = np.linspace(-3, 3, 200).reshape(-1, 1)
    fits = {}
    for loss in ("squared_error", "huber", "absolute_error"):
        model = fastnn.NeuralNetRegressor([Dense(32), Tanh()], loss=loss, huber_delta=0.3, learning_rate_init=0.01,
                                          max_iter=150 if fast else 300, random_state=0)
        model.fit(X_train, y_train)
        fits[loss] = {"mse": float(np.mean((model.predict(X_test) - y_test) ** 2)), "curve": model.predict(grid)}
    return {"fits": fits, "grid": grid.ravel(), "X": X_train.ravel(), "y": y_train, "spoiled": spoiled}


def main(fast=False, out_dir=DEFAULT_OUT):
    """Run both stories; returns their numbers and the figure path."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        digits = digits_story(fast)
        regression = regression_story(fast)

    print(f"digits as (1, 8, 8) images, {digits['n_train']} training images, {digits['epochs']} epochs, Adam lr 0.01, "
          "batch 64\n")
    print(f"{'model':58s}{'epoch 1':>9s}{'final':>9s}{'fit (s)':>9s}")
    for name, curve in digits["curves"].items():
        print(f"{name:58s}{curve[0]:9.4f}{curve[-1]:9.4f}{digits['times'][name]:9.2f}")
    print("\nsin(x) + noise, 15% of the training targets pushed up by 5-15; NeuralNetRegressor([Dense(32), Tanh()])\n")
    print(f"{'loss':58s}{'held-out MSE':>13s}")
    for loss, fit in regression["fits"].items():
        label = f"{loss} (huber_delta=0.3)" if loss == "huber" else loss
        print(f"{label:58s}{fit['mse']:13.4f}")

    figure = plot(digits, regression, out_dir)
    print(f"\nfigure: {figure}")
    return {
        "digits_accuracy": {name: curve[-1] for name, curve in digits["curves"].items()},
        "digits_curves": digits["curves"],
        "regression_mse": {loss: fit["mse"] for loss, fit in regression["fits"].items()},
        "figures": [figure],
    }


def plot(digits, regression, out_dir):
    import matplotlib

    if os.environ.get("MPLBACKEND") is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fastnn.plotting import save_figure

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, curve in digits["curves"].items():
        left.plot(range(1, len(curve) + 1), curve, marker="o", label=name)
    left.set_xlabel("epoch")
    left.set_ylabel("test accuracy")
    left.set_title("digits: your conv stack (BatchNorm) vs CNNClassifier")
    left.legend(fontsize=8, loc="lower right")
    left.grid(alpha=0.3)

    spoiled = regression["spoiled"]
    right.scatter(regression["X"][~spoiled], regression["y"][~spoiled], s=6, color="0.6", label="training data")
    right.scatter(regression["X"][spoiled], regression["y"][spoiled], s=6, color="tab:red", label="outliers (15%)")
    styles = {"squared_error": "tab:orange", "huber": "tab:blue", "absolute_error": "tab:green"}
    for loss, fit in regression["fits"].items():
        right.plot(regression["grid"], fit["curve"], color=styles[loss], lw=2,
                   label=f"{loss}: held-out MSE {fit['mse']:.3f}")
    right.plot(regression["grid"], np.sin(regression["grid"]), "k--", lw=1, label="sin(x)")
    right.set_ylim(-2, 16)
    right.set_title("NeuralNetRegressor: robust losses ignore outliers")
    right.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path = save_figure(fig, os.path.join(out_dir, "custom_network.png"))
    plt.close(fig)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--fast", action="store_true", help="600 training images, 4 epochs; shorter regression fits")
    parser.add_argument("--out-dir", default=DEFAULT_OUT, help="where to save the figure")
    args = parser.parse_args()
    main(fast=args.fast, out_dir=args.out_dir)
