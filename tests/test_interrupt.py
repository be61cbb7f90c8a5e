"""Ctrl-C during a fit (fastnn.training.interrupt): a process receives SIGINT mid-fit; the fit stops with scikit-learn's
warning and keeps a consistent model, the one an uninterrupted fit of the completed epochs gives, bit for bit."""
import json
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.datasets import load_digits

# The child fits on digits and sends itself SIGINT during its k-th epoch (k-th L-BFGS objective evaluation) from
# inside the network's training call, so the interruption lands at a known point: after the epoch's updates and
# before its bookkeeping (mini-batch), or inside a line search (L-BFGS).
CHILD = textwrap.dedent("""
    import json, os, pickle, signal, sys, warnings
    import numpy as np
    from sklearn.datasets import load_digits
    import fastnn
    from fastnn.network import Sequential

    kind, params, k, out = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16, y[:400]
    Estimator = getattr(fastnn, kind)
    make = lambda p: Estimator(**p)
    method = "loss_and_grad" if params.get("solver") == "lbfgs" else "train_epoch"
    original = getattr(Sequential, method)
    calls = [0]

    def interrupted(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        calls[0] += 1
        if calls[0] == k:
            os.kill(os.getpid(), signal.SIGINT)
        return result

    setattr(Sequential, method, interrupted)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = make(params).fit(X, y)
    setattr(Sequential, method, original)
    # The reference, an uninterrupted fit of the completed epochs, runs in this process too: float32 GEMMs round
    # differently with another BLAS thread count, and the parent's thread state is not this one's.
    done = est.n_iter_ if params.get("solver") == "lbfgs" else k - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = make({**params, "max_iter": done, "progress_bar": False}).fit(X, y)
    with open(out, "wb") as f:
        pickle.dump((est, reference), f)
    print(json.dumps([str(w.message) for w in caught]))
""")

CASES = {
    "adam": ("MLPClassifier", dict(hidden_layer_sizes=(16,), solver="adam", max_iter=50, random_state=0)),
    "sgd_layered": ("MLPClassifier", dict(hidden_layer_sizes=(16,), solver="sgd", fused=False, max_iter=50,
                                          random_state=0)),
    "early_stopping": ("MLPClassifier", dict(hidden_layer_sizes=(16,), early_stopping=True, n_iter_no_change=100,
                                             max_iter=50, random_state=0)),
    "progress_bar": ("MLPClassifier", dict(hidden_layer_sizes=(16,), progress_bar=True, max_iter=50, random_state=0)),
    "batchnorm_dropout": ("NeuralNetClassifier", dict(max_iter=50, random_state=0)),
    "lbfgs": ("MLPClassifier", dict(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=200, random_state=0)),
}
K = 6


def _digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16, y[:400]


def _interrupted_fit(tmp_path, kind, params):
    if kind == "NeuralNetClassifier":  # layer templates do not travel through JSON: the child builds the same stack
        child = CHILD.replace("Estimator(**p)", "Estimator([Dense(16), BatchNorm(), ReLU(), Dropout(0.2)], **p)")
        child = child.replace("import fastnn\n", "import fastnn\nfrom fastnn.layers import BatchNorm, Dense, Dropout, ReLU\n")
    else:
        child = CHILD
    out = tmp_path / "model.pkl"
    result = subprocess.run(
        [sys.executable, "-c", child, kind, json.dumps(params), str(K), str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out, "rb") as f:
        return pickle.load(f), json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", list(CASES))
def test_sigint_mid_fit_keeps_the_completed_epochs(tmp_path, case):
    kind, params = CASES[case]
    X, y = _digits()
    (est, reference), messages = _interrupted_fit(tmp_path, kind, params)
    assert "Training interrupted by user." in messages
    if params.get("solver") == "lbfgs":
        done = est.n_iter_  # iterations completed before the interrupted line search
        assert 0 < done < K
    else:
        done = K - 1  # the interrupted epoch is rolled back
        assert est.n_iter_ == len(est.loss_curve_) == len(est.learning_rate_curve_) == done
        if est.early_stopping:
            assert len(est.validation_scores_) == done
    # The same model as an uninterrupted fit of the completed epochs (best epoch restored under early stopping).
    assert reference.n_iter_ == done
    for a, b in zip(est.coefs_ + est.intercepts_, reference.coefs_ + reference.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(est.predict_proba(X), reference.predict_proba(X))
    if params.get("solver") != "lbfgs" and not params.get("early_stopping"):
        # Optimizer state, step count and dropout generators are consistent: partial_fit continues exactly.
        est.partial_fit(X, y)
        reference.partial_fit(X, y)
        np.testing.assert_array_equal(est.predict_proba(X), reference.predict_proba(X))
        assert est.t_ == reference.t_
