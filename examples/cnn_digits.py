"""CNN on digits: CNNClassifier on the bundled 8x8 digit images, its confusion matrix and first-layer filters.
===========================================================================================================

``CNNClassifier`` takes flat rows like every scikit-learn estimator and reshapes them to ``input_shape``
``(C, H, W)``; here one grey channel of 8 x 8 pixels. The script prints test accuracy and fit time (next to an
``MLPClassifier`` of similar size for reference) and saves ``figures/cnn_confusion.png``
(``ConfusionMatrixDisplay``) and ``figures/cnn_filters.png`` (the learned 3 x 3 first-layer filters).

::

    MPLBACKEND=Agg python examples/cnn_digits.py [--fast]
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

# Figures go next to this script. sphinx-gallery runs it as __main__ from this folder, without __file__.
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__", "_"))), "figures")
N_FILTERS, KERNEL = 16, 3


def first_layer_filters(model):
    """The first convolution's weights as ``(filters, kh, kw)`` (channel 0), from ``coefs_[0]``.

    Accepts the layer's own layout ``(filters, C, kh, kw)`` and the im2col matrix layout ``(C*kh*kw, filters)``.
    """
    W = np.asarray(model.coefs_[0])
    if W.ndim == 4:
        return W[:, 0]
    if W.ndim == 2 and W.shape[1] == N_FILTERS:
        return W.T.reshape(N_FILTERS, -1, KERNEL, KERNEL)[:, 0]
    return W.reshape(N_FILTERS, -1, KERNEL, KERNEL)[:, 0]


def _fit_timed(model, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - start


def main(fast=False, out_dir=DEFAULT_OUT):
    """Train the CNN (and an MLP for reference); return accuracies, times and the figure paths."""
    if not hasattr(fastnn, "CNNClassifier"):
        raise ImportError("fastnn.CNNClassifier is not available in this version of fastnn.")
    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixel intensities 0..16 -> [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    if fast:
        X_train, y_train = X_train[:400], y_train[:400]
    epochs = 5 if fast else 30

    common = dict(hidden_layer_sizes=(64,), learning_rate_init=0.005, batch_size=64, max_iter=epochs, random_state=0)
    cnn = fastnn.CNNClassifier(input_shape=(1, 8, 8), conv_layers=((N_FILTERS, KERNEL),), pool_size=2, **common)
    mlp = fastnn.MLPClassifier(**common)
    results = {"epochs": epochs, "n_train": len(X_train)}
    for name, model in (("cnn", cnn), ("mlp", mlp)):
        results[f"{name}_fit_time"] = _fit_timed(model, X_train, y_train)
        results[f"{name}_accuracy"] = model.score(X_test, y_test)

    print(f"digits as (1, 8, 8) images, {len(X_train)} training / {len(X_test)} test, {epochs} epochs, "
          "Adam lr 0.005, batch 64\n")
    print(f"{'model':58s}{'test acc':>9s}{'fit (s)':>9s}")
    print(f"{'CNNClassifier conv 16x3x3 -> relu -> maxpool 2 -> 64 -> 10':58s}"
          f"{results['cnn_accuracy']:9.4f}{results['cnn_fit_time']:9.2f}")
    print(f"{'MLPClassifier 64 -> 64 -> 10 (reference)':58s}{results['mlp_accuracy']:9.4f}{results['mlp_fit_time']:9.2f}")

    results["figures"] = plot(cnn, X_test, y_test, out_dir)
    print("\nfigures: " + ", ".join(results["figures"]))
    return results


def plot(cnn, X_test, y_test, out_dir):
    import matplotlib

    if os.environ.get("MPLBACKEND") is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    from fastnn.plotting import save_figure

    fig, ax = plt.subplots(figsize=(5, 4.5))
    ConfusionMatrixDisplay.from_estimator(cnn, X_test, y_test, ax=ax, colorbar=False, cmap="Blues")
    ax.set_title(f"CNNClassifier on digits, test accuracy {cnn.score(X_test, y_test):.3f}")
    fig.tight_layout()
    confusion = save_figure(fig, os.path.join(out_dir, "cnn_confusion.png"))
    plt.close(fig)

    filters = first_layer_filters(cnn)
    fig, axes = plt.subplots(2, len(filters) // 2, figsize=(0.8 * len(filters) // 2, 1.9))
    for k, (f, ax) in enumerate(zip(filters, axes.ravel())):
        lim = np.abs(f).max()
        ax.imshow(f, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_axis_off()
    fig.suptitle("first-layer 3x3 filters (red +, blue -)", fontsize=9)
    fig.tight_layout()
    filters_path = save_figure(fig, os.path.join(out_dir, "cnn_filters.png"))
    plt.close(fig)
    return [confusion, filters_path]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--fast", action="store_true", help="400 training images, 5 epochs")
    parser.add_argument("--out-dir", default=DEFAULT_OUT, help="where to save the figures")
    args = parser.parse_args()
    try:
        main(fast=args.fast, out_dir=args.out_dir)
    except ImportError as exc:
        raise SystemExit(f"{exc} This example needs a fastnn release that provides it.")
