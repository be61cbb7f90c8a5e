"""Optimizers: training-loss curves of six update rules on the same network and data.
==================================================================================

One network (digits, 64 -> 64 relu -> 10 softmax, batch 64, same initial weights) trained for the same number
of epochs with each rule, chosen through ``MLPClassifier``'s ``solver`` and its parameters:

=============  ====================================================  =======================================
rule           update (g: mini-batch gradient, lr: learning rate)    MLPClassifier parameters
=============  ====================================================  =======================================
SGD            w -= lr * g                                           solver='sgd', momentum=0
SGD+momentum   v = mu * v - lr * g;  w += v                          solver='sgd', nesterovs_momentum=False
Nesterov       v = mu * v - lr * g;  w += mu * v - lr * g            solver='sgd', nesterovs_momentum=True
Adagrad        s += g^2;  w -= lr * g / (sqrt(s) + eps)              solver='adagrad'
RMSProp        s = rho * s + (1 - rho) * g^2;  w -= lr * g / ...     solver='rmsprop'
Adam           bias-corrected first and second moments               solver='adam'
=============  ====================================================  =======================================

Learning rates are each rule's customary one (momentum methods take larger steps than plain SGD would need
to match them; the adaptive rules normalise the step). Prints final training loss and test accuracy per rule
and saves ``figures/optimizers.png``.

::

    MPLBACKEND=Agg python examples/optimizers.py [--fast]
"""
import argparse
import os
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fastnn import MLPClassifier

# Figures go next to this script. sphinx-gallery runs it as __main__ from this folder, without __file__.
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__", "_"))), "figures")

RULES = {
    "SGD": dict(solver="sgd", momentum=0.0, learning_rate_init=0.02),
    "SGD+momentum": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False, learning_rate_init=0.02),
    "Nesterov": dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, learning_rate_init=0.02),
    "Adagrad": dict(solver="adagrad", learning_rate_init=0.02),
    "RMSProp": dict(solver="rmsprop", learning_rate_init=0.001),
    "Adam": dict(solver="adam", learning_rate_init=0.001),
}


def main(fast=False, out_dir=DEFAULT_OUT):
    """Train one network per rule; return ``{"curves": {rule: loss_curve_}, "accuracy": {...}, "figures": [...]}``."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    epochs = 15 if fast else 60

    curves, accuracy, times = {}, {}, {}
    for name, params in RULES.items():
        # tol=0 and n_iter_no_change=epochs: every rule runs exactly `epochs` epochs.
        model = MLPClassifier(hidden_layer_sizes=(64,), batch_size=64, max_iter=epochs, tol=0.0,
                              n_iter_no_change=epochs, random_state=0, **params)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        times[name] = time.perf_counter() - start
        curves[name] = list(model.loss_curve_)
        accuracy[name] = model.score(X_test, y_test)

    print(f"digits, 64 -> 64 relu -> 10, batch 64, {epochs} epochs, same initial weights\n")
    print(f"{'rule':14s}{'lr':>8s}{'loss after 1':>14s}{'final loss':>12s}{'test acc':>10s}{'time (s)':>10s}")
    for name in RULES:
        print(f"{name:14s}{RULES[name]['learning_rate_init']:8.3f}{curves[name][0]:14.4f}{curves[name][-1]:12.4f}"
              f"{accuracy[name]:10.4f}{times[name]:10.2f}")

    path = plot(curves, out_dir)
    print(f"\nfigure: {path}")
    return {"curves": curves, "accuracy": accuracy, "times": times, "epochs": epochs, "figures": [path]}


def plot(curves, out_dir):
    import matplotlib

    if os.environ.get("MPLBACKEND") is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fastnn.plotting import save_figure

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        ax.plot(range(1, len(curve) + 1), curve, label=name, linestyle="--" if name.startswith(("SGD", "Nest")) else "-")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (cross-entropy + L2)")
    ax.set_title("Same network, same data, six update rules")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path = save_figure(fig, os.path.join(out_dir, "optimizers.png"))
    plt.close(fig)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--fast", action="store_true", help="15 epochs instead of 60")
    parser.add_argument("--out-dir", default=DEFAULT_OUT, help="where to save the figure")
    args = parser.parse_args()
    main(fast=args.fast, out_dir=args.out_dir)
