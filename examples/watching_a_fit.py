"""Watching and steering a fit: scikit-learn's callbacks and early stopping on a scorer with your own validation set.
==================================================================================================================

On digits (64 -> 64 relu -> 10, no L2 penalty, a large step so that it overfits within a few dozen epochs):

1. ``MLPClassifier(early_stopping=True, scoring='neg_log_loss')`` fitted with ``fit(X_train, y_train, X_val=X_val,
   y_val=y_val)``: ``validation_scores_`` is the validation log loss per epoch (negated, as scikit-learn's scorers
   are: higher is better) and the weights of the best epoch are restored at the end;
2. scikit-learn's ``ScoringMonitor`` (``sklearn.callback``, scikit-learn >= 1.9) scores the model on the training
   data at every epoch, and a 10-line callback of our own (``HeldOutAccuracy``) scores each epoch's
   ``fitted_estimator`` on the validation set;
3. a callback that steers: ``StopAtAccuracy`` returns True from ``on_fit_task_end`` once the validation accuracy
   reaches a target, which stops the fit after that epoch.

Prints the best epoch, the scores of the restored model and where the steered fit stopped; saves
``figures/watching_a_fit.png`` (log loss and accuracy per epoch, training against validation).

::

    MPLBACKEND=Agg python examples/watching_a_fit.py [--fast]
"""
import argparse
import os
import warnings

import numpy as np
from sklearn.callback import ScoringMonitor
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fastnn import MLPClassifier

# Figures go next to this script. sphinx-gallery runs it as __main__ from this folder, without __file__.
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__", "_"))), "figures")


class HeldOutAccuracy:
    """Records the accuracy on ``(X, y)`` of the model as it stands at the end of each epoch."""

    def __init__(self, X, y):
        self.X, self.y, self.scores = X, y, []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name == "epoch":
            self.scores.append(fitted_estimator.score(self.X, self.y))


class StopAtAccuracy(HeldOutAccuracy):
    """Stops the fit after the first epoch whose accuracy on ``(X, y)`` reaches ``target``."""

    def __init__(self, X, y, target):
        super().__init__(X, y)
        self.target = target

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        super().on_fit_task_end(estimator, context, fitted_estimator=fitted_estimator)
        return context.task_name == "epoch" and self.scores[-1] >= self.target


def main(fast=False, out_dir=DEFAULT_OUT):
    """Fit, watch, steer; return the curves, the summary numbers and ``{"figures": [path]}``."""
    X, y = load_digits(return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    X_train, X_val, y_train, y_val = train_test_split(X_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_val, X_test = (scaler.transform(a) for a in (X_train, X_val, X_test))
    epochs = 10 if fast else 40
    params = dict(hidden_layer_sizes=(64,), alpha=0.0, batch_size=32, learning_rate_init=0.01, max_iter=epochs,
                  early_stopping=True, scoring="neg_log_loss", n_iter_no_change=epochs, random_state=0)

    monitor = ScoringMonitor(scoring=["neg_log_loss", "accuracy"])
    held_out = HeldOutAccuracy(X_val, y_val)
    model = MLPClassifier(**params).set_callbacks(monitor, held_out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    curves = {
        "train_log_loss": [-row["neg_log_loss"] for row in rows],
        "train_accuracy": [row["accuracy"] for row in rows],
        "val_log_loss": [-s for s in model.validation_scores_],
        "val_accuracy": held_out.scores,
    }
    best = int(np.argmax(model.validation_scores_)) + 1

    target = 0.95 if fast else 0.97
    stopper = StopAtAccuracy(X_val, y_val, target)
    steered = MLPClassifier(**params).set_callbacks(stopper)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        steered.fit(X_train, y_train, X_val=X_val, y_val=y_val)

    summary = {
        "epochs": epochs,
        "best_epoch": best,
        "best_validation_log_loss": -model.best_validation_score_,
        "restored_validation_log_loss": log_loss(y_val, model.predict_proba(X_val)),
        "last_validation_log_loss": curves["val_log_loss"][-1],
        "test_accuracy": model.score(X_test, y_test),
        "steered_epochs": steered.n_iter_,
        "steered_validation_accuracy": stopper.scores[-1],
    }
    print(f"digits, 64 -> 64 relu -> 10, alpha=0, batch 32, lr 0.01, {epochs} epochs\n")
    print(f"best epoch (validation log loss): {best} of {model.n_iter_}")
    print(f"validation log loss: best {summary['best_validation_log_loss']:.4f}, restored model "
          f"{summary['restored_validation_log_loss']:.4f}, last epoch {summary['last_validation_log_loss']:.4f}")
    print(f"restored model test accuracy: {summary['test_accuracy']:.4f}")
    print(f"StopAtAccuracy({target}): stopped after epoch {steered.n_iter_} at validation accuracy "
          f"{summary['steered_validation_accuracy']:.4f}")

    path = plot(curves, best, steered.n_iter_, target, out_dir)
    print(f"\nfigure: {path}")
    return {"curves": curves, **summary, "figures": [path]}


def plot(curves, best, stopped, target, out_dir):
    import matplotlib

    matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(curves["train_log_loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(epochs, curves["train_log_loss"], label="training (ScoringMonitor)")
    left.plot(epochs, curves["val_log_loss"], label="validation (scoring='neg_log_loss', X_val)")
    left.axvline(best, color="gray", ls="--", lw=1, label=f"best epoch {best}: weights restored")
    left.set(xlabel="epoch", ylabel="log loss", title="Early stopping on a scorer, with your validation set")
    left.legend(fontsize=8)
    right.plot(epochs, curves["train_accuracy"], label="training (ScoringMonitor)")
    right.plot(epochs, curves["val_accuracy"], label="validation (fitted_estimator in a callback)")
    right.axhline(target, color="gray", ls=":", lw=1)
    right.axvline(stopped, color="tab:red", ls="--", lw=1, label=f"StopAtAccuracy({target}) stops: epoch {stopped}")
    right.set(xlabel="epoch", ylabel="accuracy", title="Watching and steering with sklearn.callback")
    right.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "watching_a_fit.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--fast", action="store_true", help="fewer epochs (the setting the tests run)")
    parser.add_argument("--out-dir", default=DEFAULT_OUT, help="where to save the figure")
    args = parser.parse_args()
    main(fast=args.fast, out_dir=args.out_dir)
