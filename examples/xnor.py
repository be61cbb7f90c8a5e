"""Logic gates: one logistic unit draws one straight line, so it learns AND, OR, NOT but never XNOR.
=================================================================================================

A logistic unit computes ``sigmoid(w . x + b)`` and answers 1 where ``w . x + b > 0``: a half-plane. AND, OR,
NAND, NOR and NOT are half-planes of the unit square's corners; XNOR (1 when both inputs agree) puts (0, 0) and
(1, 1) on one side and (0, 1), (1, 0) on the other, which no line does: at best 3 of 4 rows are right, and
the log-loss optimum is the constant P = 0.5.

With a hidden layer it becomes easy, since ``a XNOR b = (a AND b) OR (NOT a AND NOT b)``: one hidden unit for
AND, one for NOR, an output unit for OR. The script shows

1. single units (``MLPClassifier(hidden_layer_sizes=())``) trained on AND, OR, NAND, NOR, NOT and XNOR;
2. that hand-wired 2-2-1 network, built with ``fastnn.Sequential`` and given its weights directly;
3. trained two-layer networks: with only 2 hidden units gradient descent can stall in a local minimum for
   some initialisations (the script counts how many of 20 seeds succeed); with 8 units it reliably finds one.

::

    python examples/xnor.py [--fast]
"""
import argparse
import os
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fastnn import Dense, MLPClassifier, Sequential, Sigmoid, SigmoidCrossEntropy

# Figures go next to this script. sphinx-gallery runs it as __main__ from this folder, without __file__.
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__", "_"))), "figures")

X2 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
GATES = {
    "AND": (X2, np.array([0, 0, 0, 1])),
    "OR": (X2, np.array([0, 1, 1, 1])),
    "NAND": (X2, np.array([1, 1, 1, 0])),
    "NOR": (X2, np.array([1, 0, 0, 0])),
    "NOT": (np.array([[0], [1]], dtype=np.float64), np.array([1, 0])),
    "XNOR": (X2, np.array([1, 0, 0, 1])),
}


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def truth_table(title, X, y, proba):
    """Print inputs, target, P(1) and the prediction; return the fraction of rows predicted right."""
    names = ["a", "b"][: X.shape[1]]
    print(f"  {title}")
    print("    " + "  ".join(names) + "  target  P(out=1)  out")
    pred = (proba > 0.5).astype(int)
    for row, t, p, o in zip(X.astype(int), y, proba, pred):
        mark = "" if o == t else "   <- wrong"
        print("    " + "  ".join(str(v) for v in row) + f"  {t:6d}  {p:8.3f}  {o:3d}{mark}")
    return float(np.mean(pred == y))


def hand_wired_xnor():
    """A 2-2-1 sigmoid network with weights set by hand: h1 = AND(a, b), h2 = NOR(a, b), out = OR(h1, h2)."""
    net = Sequential([Dense(2), Sigmoid(), Dense(1)], SigmoidCrossEntropy()).build((2,), np.float64, 0)
    hidden, out = net.layers[0], net.layers[2]
    hidden.params[0][...] = [[20.0, -20.0], [20.0, -20.0]]   # W (n_in=2, n_out=2): column 0 AND, column 1 NOR
    hidden.params[1][...] = [-30.0, 10.0]                    # b: AND fires only above 1.5, NOR only below 0.5
    out.params[0][...] = [[20.0], [20.0]]                    # OR of the two hidden units
    out.params[1][...] = [-10.0]
    return net


def main(fast=False, out_dir=DEFAULT_OUT):
    """Return ``{"single": {gate: accuracy}, "hand_wired": accuracy, "two_layer": {...}}``; ``out_dir`` unused."""
    results = {"single": {}, "two_layer": {}}

    print("1. One logistic unit, sigmoid(w . x + b), trained with L-BFGS\n")
    for gate, (X, y) in GATES.items():
        unit = _fit(MLPClassifier(hidden_layer_sizes=(), solver="lbfgs", alpha=1e-6, random_state=0), X, y)
        proba = unit.predict_proba(X)[:, 1]
        w, b = unit.coefs_[0].ravel(), unit.intercepts_[0][0]
        title = f"{gate}: w = {np.array2string(w, precision=1)}, b = {b:.1f}"
        results["single"][gate] = truth_table(title, X, y, proba)
        print(f"    accuracy {results['single'][gate]:.2f}")
        if gate == "XNOR":
            print("    no line separates XNOR's rows; the log-loss optimum is w = 0, P = 0.5 on every row")
        print()

    print("2. Hand-wired 2-2-1 network: XNOR = OR(AND(a, b), NOR(a, b))\n")
    X, y = GATES["XNOR"]
    net = hand_wired_xnor()
    hidden = net.layers[1].forward(net.layers[0].forward(X))
    print("    hidden units (AND, NOR): " + ", ".join(f"({h[0]:.0f}, {h[1]:.0f})" for h in hidden))
    results["hand_wired"] = truth_table("XNOR, hand-wired", X, y, net.predict(X)[:, 0])
    print(f"    accuracy {results['hand_wired']:.2f}\n")

    n_seeds = 10 if fast else 20
    print(f"3. Trained networks with one hidden layer of logistic units, L-BFGS, {n_seeds} random seeds\n")
    for width in (2, 8):
        accs = []
        for seed in range(n_seeds):
            model = MLPClassifier(hidden_layer_sizes=(width,), activation="logistic", solver="lbfgs",
                                  alpha=1e-6, max_iter=500, random_state=seed)
            accs.append(_fit(model, X, y).score(X, y))
        learned = int(np.sum(np.array(accs) == 1.0))
        results["two_layer"][width] = {"seeds": n_seeds, "learned": learned, "accuracies": accs}
        print(f"    {width} hidden units: XNOR learned exactly for {learned}/{n_seeds} seeds"
              + ("" if learned == n_seeds else f" (the others stall at accuracy {sorted(set(accs) - {1.0})})"))
    model = _fit(MLPClassifier(hidden_layer_sizes=(8,), activation="logistic", solver="lbfgs", alpha=1e-6,
                               max_iter=500, random_state=0), X, y)
    print()
    results["trained"] = truth_table("XNOR, 8 hidden units, seed 0", X, y, model.predict_proba(X)[:, 1])
    print(f"    accuracy {results['trained']:.2f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--fast", action="store_true", help="10 seeds instead of 20")
    args = parser.parse_args()
    main(fast=args.fast)
