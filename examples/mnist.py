"""MNIST: an MLPClassifier trained on the 60,000 MNIST digits read from their IDX files.
=====================================================================================

::

    python examples/mnist.py --data DIR [--fast]

DIR holds the four IDX files (gzipped or not), named as distributed::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz  t10k-images-idx3-ubyte.gz  t10k-labels-idx1-ubyte.gz

``fastnn.datasets.load_idx`` reads them. The script trains ``MLPClassifier(hidden_layer_sizes=(256,),
early_stopping=True)`` on pixels scaled to [0, 1], prints test accuracy, epochs and fit time, and saves the
learning curves (``fastnn.plotting.plot_learning_curves``) to ``figures/mnist_learning_curves.png`` when
matplotlib is installed. ``--fast`` trains on the first 10,000 images for at most 5 epochs. The documentation
site shows this script without running it (MNIST is not bundled).
"""
import argparse
import glob
import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fastnn import MLPClassifier
from fastnn.datasets import load_idx

# Figures go next to this script. sphinx-gallery runs it as __main__ from this folder, without __file__.
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__", "_"))), "figures")

FILES = {
    "X_train": "train-images*idx3-ubyte*",
    "y_train": "train-labels*idx1-ubyte*",
    "X_test": "t10k-images*idx3-ubyte*",
    "y_test": "t10k-labels*idx1-ubyte*",
}

HOW_TO_GET = """\
MNIST is not bundled (and this script downloads nothing). Get the four IDX files into a folder, e.g.

    mkdir -p ~/data/mnist && cd ~/data/mnist
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        curl -fLO https://ossci-datasets.s3.amazonaws.com/mnist/$f.gz
    done

(the same files are mirrored at https://storage.googleapis.com/cvdf-datasets/mnist/; the original page is
http://yann.lecun.com/exdb/mnist/), then run

    python examples/mnist.py --data ~/data/mnist"""


def find_files(data_dir):
    """Map each of X_train, y_train, X_test, y_test to its file in ``data_dir``; FileNotFoundError if any is missing."""
    if data_dir is None:
        raise FileNotFoundError("No MNIST folder given (--data DIR).\n\n" + HOW_TO_GET)
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(f"{data_dir} is not a folder.\n\n" + HOW_TO_GET)
    paths, missing = {}, []
    for key, pattern in FILES.items():
        found = sorted(glob.glob(os.path.join(data_dir, pattern)))
        if found:
            paths[key] = found[0]
        else:
            missing.append(pattern)
    if missing:
        raise FileNotFoundError(f"{data_dir} lacks the MNIST file(s) {', '.join(missing)}.\n\n" + HOW_TO_GET)
    return paths


def load_mnist(data_dir):
    """``(X_train, y_train, X_test, y_test)``: images flattened to float32 rows in [0, 1], labels int64."""
    paths = find_files(data_dir)
    arrays = {key: load_idx(path) for key, path in paths.items()}
    for key in ("X_train", "X_test"):
        images = arrays[key]
        arrays[key] = images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0)
    for key in ("y_train", "y_test"):
        arrays[key] = arrays[key].astype(np.int64)
    return arrays["X_train"], arrays["y_train"], arrays["X_test"], arrays["y_test"]


def main(fast=False, out_dir=DEFAULT_OUT, data=None):
    """Train on the IDX files in ``data``; return accuracy, epochs, fit time and the figure paths."""
    X_train, y_train, X_test, y_test = load_mnist(data)
    if fast:
        X_train, y_train = X_train[:10000], y_train[:10000]
    model = MLPClassifier(hidden_layer_sizes=(256,), early_stopping=True, max_iter=5 if fast else 50,
                          random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    fit_time = time.perf_counter() - start
    accuracy = model.score(X_test, y_test)

    side = int(round(np.sqrt(X_train.shape[1])))
    print(f"MNIST from {data}: {len(X_train)} training / {len(X_test)} test images of {side}x{side} pixels")
    print("MLPClassifier(hidden_layer_sizes=(256,), early_stopping=True)")
    print(f"test accuracy {accuracy:.4f}, best validation accuracy {model.best_validation_score_:.4f}, "
          f"{model.n_iter_} epochs, fit time {fit_time:.1f} s")

    results = {"accuracy": accuracy, "n_iter": model.n_iter_, "fit_time": fit_time,
               "n_train": len(X_train), "figures": []}
    try:
        import matplotlib
    except ImportError:
        print('(no figure: matplotlib is not installed; pip install "fastnn[examples]")')
        return results
    if os.environ.get("MPLBACKEND") is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fastnn.plotting import plot_learning_curves, save_figure

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    plot_learning_curves(model, ax=ax)
    ax.set_title(f"MLPClassifier on MNIST, test accuracy {accuracy:.3f}", fontsize=10)
    fig.tight_layout()
    results["figures"].append(save_figure(fig, os.path.join(out_dir, "mnist_learning_curves.png")))
    plt.close(fig)
    print(f"figure: {results['figures'][0]}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--data", default=None, help="folder with the four MNIST IDX files")
    parser.add_argument("--fast", action="store_true", help="10,000 training images, at most 5 epochs")
    parser.add_argument("--out-dir", default=DEFAULT_OUT, help="where to save the figure")
    args = parser.parse_args()
    try:
        main(fast=args.fast, out_dir=args.out_dir, data=args.data)
    except FileNotFoundError as exc:
        raise SystemExit(str(exc))
