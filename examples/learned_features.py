"""Learned features: a fitted network's last hidden layer as the input of a second model, against the raw features.
================================================================================================================

The data (``make_classification``): 4 classes in 100 standardised features, of which only 8 carry signal. A
``MLPClassifier((32, 8))`` is fitted once; ``transform`` maps each row to the 8 activations of its last hidden layer,
and ``make_pipeline(FrozenEstimator(mlp), second_model)`` trains a second model on them without refitting the
network. Each second model is compared with the same model on the 100 raw features, on a held-out test set:

- nearest neighbours, whose distances on raw features are dominated by the 92 noise features: in the learned space
  they measure what the network found relevant;
- logistic regression and gradient boosting, which weigh the features themselves (boosting picks the informative
  ones about as well as the network does).

Prints the network's ``summary()``, the feature names and the accuracies; saves ``figures/learned_features.png``
(accuracy per second model, raw against learned, and the test rows in the first two principal components of each
space).

::

    MPLBACKEND=Agg python examples/learned_features.py [--fast]
"""
import argparse
import os
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastnn import MLPClassifier

# Figures go next to this script. sphinx-gallery runs it as __main__ from this folder, without __file__.
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__", "_"))), "figures")


def second_models(fast):
    return {
        "15 nearest neighbours": KNeighborsClassifier(15),
        "logistic regression": LogisticRegression(max_iter=1000),
        "gradient boosting": HistGradientBoostingClassifier(max_iter=10 if fast else 100, max_leaf_nodes=15 if fast else 31,
                                                            random_state=0),
    }


def main(fast=False, out_dir=DEFAULT_OUT):
    """Fit the network, then each second model on raw and on learned features; return the accuracies, the
    network's own test accuracy and ``{"figures": [path]}``."""
    n_samples = 1000 if fast else 3000
    X, y = make_classification(n_samples, n_features=100, n_informative=8, n_redundant=0, n_classes=4,
                               n_clusters_per_class=2, class_sep=1.5, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    mlp = MLPClassifier((32, 8), alpha=10.0, max_iter=100 if fast else 200, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X_train, y_train)
    print(mlp.summary(), "\n")
    print("learned features:", ", ".join(mlp.get_feature_names_out()), "\n")

    accuracy = {}
    for name, model in second_models(fast).items():
        raw = model.fit(X_train, y_train).score(X_test, y_test)
        learned = make_pipeline(FrozenEstimator(mlp), model).fit(X_train, y_train).score(X_test, y_test)
        accuracy[name] = {"raw": raw, "learned": learned}
    network = mlp.score(X_test, y_test)

    print(f"{n_samples // 2} training rows, 100 features (8 informative), 4 classes; test accuracy:")
    print(f"  {'second model':<24}{'raw (100)':>10}{'learned (8)':>13}")
    for name, acc in accuracy.items():
        print(f"  {name:<24}{acc['raw']:>10.3f}{acc['learned']:>13.3f}")
    print(f"  {'the network alone':<24}{'':>10}{network:>13.3f}")

    path = plot(accuracy, network, X_test, mlp.transform(X_test), y_test, out_dir)
    print(f"\nfigure: {path}")
    return {"accuracy": accuracy, "network_accuracy": network, "figures": [path]}


def plot(accuracy, network, raw, learned, y, out_dir):
    import matplotlib

    matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    names = list(accuracy)
    at = np.arange(len(names))
    axes[0].bar(at - 0.2, [accuracy[n]["raw"] for n in names], 0.4, label="raw features (100)")
    axes[0].bar(at + 0.2, [accuracy[n]["learned"] for n in names], 0.4, label="learned features (8)")
    axes[0].axhline(network, color="gray", ls="--", lw=1, label="the network alone")
    axes[0].set_xticks(at, names, fontsize=8)
    axes[0].set(ylabel="test accuracy", ylim=(0, 1), title="Second model: raw vs learned features")
    axes[0].legend(fontsize=8, loc="lower right")
    for ax, features, title in ((axes[1], raw, "Raw features (100)"), (axes[2], learned, "Learned features (8)")):
        xy = PCA(2, random_state=0).fit_transform(features)
        ax.scatter(xy[:, 0], xy[:, 1], c=y, s=6, cmap="tab10", vmin=0, vmax=9)
        ax.set(title=f"{title}\ntest rows, first two principal components", xticks=[], yticks=[])
    fig.tight_layout()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "learned_features.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--fast", action="store_true", help="fewer rows and epochs (the setting the tests run)")
    parser.add_argument("--out-dir", default=DEFAULT_OUT, help="where to save the figure")
    args = parser.parse_args()
    main(fast=args.fast, out_dir=args.out_dir)
