"""A SHA-256 of what a fixed set of fits produces: the proof that a refactor left behaviour unchanged.

Each configuration is fitted on small fixed data; its hash covers the weights (``coefs_``, ``intercepts_``,
``layer_state_``), the curves and counters (``loss_curve_``, ``validation_scores_``, ``learning_rate_curve_``, ...,
``n_iter_``) and the predictions (``predict``, and ``predict_proba`` for classifiers) on held-out rows. Every array
enters as its dtype, shape and C-order bytes; every scalar as its ``repr``; always in the same order. Run it before
and after a change and compare the lines: any bit that moves changes a hash.

Only public import paths and public parameters are used, so the script runs unchanged across a reorganisation of
the package's private modules.

    python benchmarks/behaviour_hash.py [--json PATH]

prints ``name sha256`` per configuration and a last line ``overall sha256`` (over the per-configuration lines).
"""
import argparse
import hashlib
import json
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from fastnn import CNNClassifier, MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor
from fastnn.layers import BatchNorm, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Tanh

# Fitted attributes beyond the weights, hashed when the estimator has them (and not None).
CURVES = ("loss_curve_", "validation_scores_", "validation_loss_curve_", "learning_rate_curve_", "n_iter_", "t_",
          "loss_", "best_loss_", "best_validation_score_")


class Hasher:
    """SHA-256 over a typed stream: arrays as dtype, shape and bytes; scalars as repr; each item tagged."""

    def __init__(self):
        self.h = hashlib.sha256()

    def tag(self, name):
        self.h.update(f"<{name}>".encode())

    def array(self, a):
        a = np.ascontiguousarray(a)
        self.h.update(f"{a.dtype.str}{a.shape}".encode())
        self.h.update(a.tobytes())

    def value(self, v):
        if isinstance(v, np.ndarray):
            self.array(v)
        elif isinstance(v, (list, tuple)):
            self.h.update(f"{type(v).__name__}[{len(v)}]".encode())
            for item in v:
                self.value(item)
        else:
            self.h.update(repr(v).encode())

    def hexdigest(self):
        return self.h.hexdigest()


def weights_hash(est):
    h = Hasher()
    for name in ("coefs_", "intercepts_", "layer_state_"):
        if hasattr(est, name):
            h.tag(name)
            h.value(list(getattr(est, name)))
    return h.hexdigest()


def estimator_hash(est, X_test):
    h = Hasher()
    h.tag("weights")
    h.value(weights_hash(est))
    for name in CURVES:
        v = getattr(est, name, None)
        if v is not None:
            h.tag(name)
            h.value(list(v) if isinstance(v, list) else v)
    h.tag("predict")
    h.value(est.predict(X_test))
    if hasattr(est, "predict_proba"):
        h.tag("predict_proba")
        h.value(est.predict_proba(X_test))
    return h.hexdigest()


def datasets():
    """Small fixed data sets: (X_train, y_train, X_test)."""
    digits = load_digits()
    X = digits.data[:400] / 16.0
    y = digits.target[:400]
    d = {"digits": (X[:300], y[:300], X[300:])}
    d["binary"] = (X[:300], (y[:300] % 2 == 0).astype(int), X[300:])
    d["multilabel"] = (X[:300], np.stack([y[:300] % 2, (y[:300] >= 5), (y[:300] % 3 == 0)], 1).astype(int), X[300:])
    images = X.reshape(-1, 1, 8, 8)
    d["images"] = (images[:300], y[:300], images[300:])
    Xc, yc = make_classification(n_samples=260, n_features=12, n_informative=6, n_classes=3, random_state=0)
    d["cls"] = (Xc[:200], yc[:200], Xc[200:])
    Xr, yr = make_regression(n_samples=260, n_features=10, noise=0.5, random_state=0)
    yr = yr / np.std(yr)
    d["reg"] = (Xr[:200], yr[:200], Xr[200:])
    d["reg_pos"] = (Xr[:200], np.abs(yr[:200]), Xr[200:])
    Xm, ym = make_regression(n_samples=260, n_features=10, n_targets=3, noise=0.5, random_state=1)
    ym = ym / np.std(ym, axis=0)
    d["reg_multi"] = (Xm[:200], ym[:200], Xm[200:])
    return d


def configs():
    """(name, data set, estimator factory, fit mode); factories so that each run builds fresh estimators."""
    mlp = dict(hidden_layer_sizes=(32, 16), max_iter=4, random_state=0, batch_size=64)
    out = []

    def add(name, data, make, mode="fit"):
        out.append((name, data, make, mode))

    # Dense-stack mini-batch configurations run both fused and layer by layer: the two paths are documented as
    # bit-identical, so main() checks that each pair gives the same weights, curves and predictions.
    def add_pair(name, data, make, mode="fit"):
        for fused in (True, False):
            add(f"{name}_fused={fused}", data, lambda f=fused: make(fused=f), mode)

    add_pair("mlp_clf_digits_adam", "digits", lambda **kw: MLPClassifier(**mlp, **kw))
    for solver in ("adam", "adamw", "adagrad", "rmsprop"):
        add_pair(f"mlp_clf_{solver}", "cls", lambda s=solver, **kw: MLPClassifier(**mlp, solver=s, **kw))
    for nesterov in (True, False):
        add_pair(f"mlp_clf_sgd_nesterov={nesterov}", "cls",
                 lambda n=nesterov, **kw: MLPClassifier(**mlp, solver="sgd", momentum=0.9, nesterovs_momentum=n,
                                                        learning_rate_init=0.05, **kw))
    add_pair("mlp_clf_sgd_no_momentum", "cls",
             lambda **kw: MLPClassifier(**mlp, solver="sgd", momentum=0.0, learning_rate_init=0.05, **kw))
    for schedule in ("invscaling", "adaptive"):
        add_pair(f"mlp_clf_sgd_{schedule}", "cls",
                 lambda s=schedule, **kw: MLPClassifier(**{**mlp, "max_iter": 5}, solver="sgd", learning_rate=s,
                                                        learning_rate_init=0.1, n_iter_no_change=1, tol=0.5, **kw))
    add("mlp_clf_lbfgs", "cls", lambda: MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=5,
                                                       random_state=0))
    add_pair("mlp_clf_early_stopping", "digits",
             lambda **kw: MLPClassifier(**{**mlp, "max_iter": 5}, early_stopping=True, validation_fraction=0.2,
                                        n_iter_no_change=2, **kw))
    add_pair("mlp_clf_early_stopping_sgd", "cls",
             lambda **kw: MLPClassifier(**{**mlp, "max_iter": 5}, solver="sgd", early_stopping=True,
                                        n_iter_no_change=2, **kw))
    for dtype in (np.float32, np.float64):
        add_pair(f"mlp_clf_tanh_{np.dtype(dtype).name}", "digits",
                 lambda d=dtype, **kw: MLPClassifier(**mlp, dtype=d, activation="tanh", alpha=1e-3, **kw))
    add_pair("mlp_clf_logistic_float64", "cls",
             lambda **kw: MLPClassifier(**mlp, dtype=np.float64, activation="logistic", **kw))
    add_pair("mlp_clf_dropout", "digits", lambda **kw: MLPClassifier(**mlp, dropout=0.2, **kw))
    add_pair("mlp_clf_binary", "binary", lambda **kw: MLPClassifier(**mlp, **kw))
    add_pair("mlp_clf_multilabel", "multilabel", lambda **kw: MLPClassifier(**mlp, **kw))
    add_pair("mlp_clf_partial_fit", "digits", lambda **kw: MLPClassifier(**mlp, **kw), mode="partial_fit")

    for loss in ("squared_error", "poisson", "huber", "absolute_error"):
        add_pair(f"mlp_reg_{loss}", "reg_pos" if loss == "poisson" else "reg",
                 lambda l=loss, **kw: MLPRegressor(loss=l, **mlp, learning_rate_init=0.01, **kw))
    add_pair("mlp_reg_float64_sgd", "reg",
             lambda **kw: MLPRegressor(**mlp, dtype=np.float64, solver="sgd", learning_rate_init=0.01, **kw))
    add_pair("mlp_reg_multioutput", "reg_multi", lambda **kw: MLPRegressor(**mlp, **kw))
    add("mlp_reg_lbfgs", "reg", lambda: MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=5,
                                                     random_state=0))
    add_pair("mlp_reg_sgd_early_stopping", "reg",
             lambda **kw: MLPRegressor(**{**mlp, "max_iter": 5}, solver="sgd", learning_rate_init=0.01,
                                       early_stopping=True, n_iter_no_change=2, **kw))
    add_pair("mlp_reg_partial_fit", "reg", lambda **kw: MLPRegressor(**mlp, **kw), mode="partial_fit")

    add("cnn_clf", "digits", lambda: CNNClassifier(conv_layers=((4, 3),), hidden_layer_sizes=(16,), max_iter=2,
                                                   batch_size=64, random_state=0))
    add("cnn_clf_images_sgd", "images", lambda: CNNClassifier(conv_layers=((4, 3), (8, 3)), max_iter=1,
                                                              solver="sgd", batch_size=64, random_state=0))
    add("nn_clf_batchnorm_dropout", "digits",
        lambda: NeuralNetClassifier([Dense(32), BatchNorm(), ReLU(), Dropout(0.2), Dense(16), Tanh()], max_iter=4,
                                    batch_size=64, random_state=0))
    add("nn_clf_conv_batchnorm", "images",
        lambda: NeuralNetClassifier([Conv2D(4, 3, padding="same"), BatchNorm(), ReLU(), MaxPool2D(2), Flatten()],
                                    max_iter=2, batch_size=64, random_state=0))
    add("nn_clf_batchnorm_partial_fit", "digits",
        lambda: NeuralNetClassifier([Dense(32), BatchNorm(), ReLU()], batch_size=64, random_state=0),
        mode="partial_fit")
    add_pair("nn_reg_rmsprop", "reg",
             lambda **kw: NeuralNetRegressor([Dense(24), Tanh(), Dense(16), ReLU()], solver="rmsprop", max_iter=4,
                                             batch_size=64, random_state=0, **kw))
    add("nn_reg_batchnorm_huber", "reg",
        lambda: NeuralNetRegressor([Dense(32), BatchNorm(), Tanh()], loss="huber", max_iter=4, batch_size=64,
                                   random_state=0, dtype=np.float64))
    return out


def run_config(make, mode, data):
    X, y, X_test = data
    est = make()
    if mode == "fit":
        est.fit(X, y)
    else:  # partial_fit twice: the second call continues the optimizer state
        half = len(X) // 2
        kwargs = {"classes": np.unique(y)} if hasattr(est, "predict_proba") else {}
        est.partial_fit(X[:half], y[:half], **kwargs)
        est.partial_fit(X[half:], y[half:])
    return est


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", metavar="PATH", help="also write {name: sha256, ..., 'overall': sha256} to PATH")
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    data = datasets()
    start = time.perf_counter()
    results, pairs = {}, {}
    for name, data_name, make, mode in configs():
        est = run_config(make, mode, data[data_name])
        results[name] = estimator_hash(est, data[data_name][2])
        if name.endswith(("_fused=True", "_fused=False")):
            pairs.setdefault(name.rsplit("_fused=", 1)[0], set()).add(results[name])
        print(f"{name} {results[name]}", flush=True)
    split = sorted(pair for pair, hashes in pairs.items() if len(hashes) != 1)
    if split:
        sys.exit(f"fused=True and fused=False fits differ for: {', '.join(split)}")
    overall = hashlib.sha256("".join(f"{k} {v}\n" for k, v in results.items()).encode()).hexdigest()
    results["overall"] = overall
    print(f"overall {overall}")
    print(f"# {len(results) - 1} configurations in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
