"""Reliability, numerics: divergence is caught in the step (loss) or epoch (weights) where it happens, reported
with cause and remedy, and a failed partial_fit / warm_start fit leaves the model bit-identical; probabilities stay
finite and normalised, without overflow warnings, for inputs a million times larger than the training data."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris, make_multilabel_classification
from sklearn.preprocessing import StandardScaler

from fastnn import MLPClassifier, MLPRegressor
from fastnn.network import Sequential

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

REMEDY = "scale the inputs .*StandardScaler.* or lower learning_rate_init"


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def diabetes_unscaled():
    X, y = load_diabetes(return_X_y=True)
    return X * 1000.0, y  # features of order 100, targets of order 100: no scaling at all


@pytest.fixture
def step_losses(monkeypatch):
    """Every mini-batch objective the solver computes, in order, for estimators made with ``fused=False`` (the
    fused whole-epoch kernel, bit-identical to the layered path, computes them inside one call, out of its reach)."""
    losses = []
    original = Sequential.loss_and_grad

    def recording(self, X, y, sample_weight=None, l2=0.0):
        loss = original(self, X, y, sample_weight, l2)
        losses.append(loss)
        return loss

    monkeypatch.setattr(Sequential, "loss_and_grad", recording)
    return losses


def _full_state(est):
    """Every attribute, fitted arrays and optimizer buffers included, each pickled on its own (the bytes of one
    pickle of everything would also depend on which attributes happen to share objects)."""
    return {key: pickle.dumps(value) for key, value in est.__getstate__().items()}


# ------------------------------------------------------------------ divergence
def test_divergence_lr_1e3_unscaled_stops_at_the_first_non_finite_step(diabetes_unscaled, step_losses):
    X, y = diabetes_unscaled
    reg = MLPRegressor(hidden_layer_sizes=(8,), activation="tanh", solver="sgd", learning_rate_init=1e3,
                       max_iter=20, random_state=0, fused=False)
    with pytest.raises(ValueError, match=f"non-finite .* at iteration 2, mini-batch 3.*{REMEDY}") as info:
        reg.fit(X, y)
    assert "left exactly as it was" in str(info.value)
    n_batches = -(-len(y) // 200)
    assert len(step_losses) == n_batches + 3, "no step may run after the first non-finite loss"
    assert np.isfinite(step_losses[:-1]).all() and not np.isfinite(step_losses[-1])
    assert not hasattr(reg, "coefs_"), "a failed first fit leaves the estimator unfitted"


def test_weights_overflowing_on_the_last_step_of_an_epoch_are_caught_in_that_epoch(iris, step_losses):
    """lr=1e38 with one full batch per epoch: the single step of epoch 1 turns finite weights into inf while the
    loss it computed (before the update) was finite; the epoch-end weight check must report iteration 1, not
    wait for epoch 2's NaN loss."""
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", momentum=0.0, learning_rate_init=1e38,
                        batch_size=150, max_iter=5, random_state=0, fused=False)
    with pytest.raises(ValueError, match=f"weights became non-finite .* at iteration 1;.*{REMEDY}"):
        clf.fit(X * 10, y)
    assert len(step_losses) == 1 and np.isfinite(step_losses[0])


def test_failed_warm_start_fit_restores_everything_bit_identically(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=4, warm_start=True, random_state=0).fit(X, y)
    clf.set_params(learning_rate_init=1e38)
    before, proba = _full_state(clf), clf.predict_proba(X)
    with pytest.raises(ValueError, match="non-finite"):
        clf.fit(X * 10, y)
    assert _full_state(clf) == before, "weights, Adam m/v/t, loss_curve_, n_iter_, t_ must all be restored"
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    clf.set_params(learning_rate_init=1e-3)
    clf.fit(X, y)
    assert len(clf.loss_curve_) == 8


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_failed_partial_fit_then_partial_fit_equals_never_failing(iris, solver):
    """After a diverging partial_fit the model is bit-identical, and continuing gives exactly the trajectory of a
    model that never saw the bad batch (optimizer state, learning rate, counters all untouched)."""
    X, y = iris
    params = dict(hidden_layer_sizes=(8,), solver=solver, learning_rate_init=0.05, random_state=0)
    a = MLPClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
    b = MLPClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
    before = _full_state(a)
    with pytest.raises(ValueError, match=f"partial_fit stopped: the training loss became non-finite.*{REMEDY}"):
        a.partial_fit(np.full((150, 4), 3e38), y)
    assert _full_state(a) == before
    for _ in range(2):
        a.partial_fit(X, y)
        b.partial_fit(X, y)
    assert _full_state(a) == _full_state(b)


def test_lbfgs_divergence_reports_and_leaves_fitted_model(iris):
    X, y = iris
    clf = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(4,), max_iter=20, random_state=0).fit(X, y)
    before = _full_state(clf)
    with pytest.raises(ValueError, match="L-BFGS objective became non-finite.*scale the inputs.*increase alpha"):
        clf.fit(np.full((20, 4), 3e38), np.arange(20) % 3)
    assert _full_state(clf) == before


# ------------------------------------------------------------------ extreme inputs at prediction
@pytest.fixture(scope="module")
def classifiers(iris):
    X, y = iris
    Xm, Ym = make_multilabel_classification(n_samples=100, n_features=4, n_classes=3, random_state=0)
    out = {}
    for dtype in (np.float32, np.float64):
        for act in ("relu", "logistic", "tanh"):
            common = dict(hidden_layer_sizes=(16,), activation=act, max_iter=30, learning_rate_init=0.02,
                          random_state=0, dtype=dtype)
            out[f"multiclass_{act}_{np.dtype(dtype).name}"] = MLPClassifier(**common).fit(X, y)
            out[f"binary_{act}_{np.dtype(dtype).name}"] = MLPClassifier(**common).fit(X, y == 1)
        out[f"multilabel_{np.dtype(dtype).name}"] = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10,
                                                                 random_state=0, dtype=dtype).fit(Xm, Ym)
    return out


@pytest.mark.parametrize("scale", [1e6, -1e6])
def test_predict_proba_finite_and_normalised_for_inputs_scaled_by_1e6(classifiers, iris, scale):
    X, _ = iris
    for name, clf in classifiers.items():
        Xs = X[:, :clf.n_features_in_] * scale
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any overflow / invalid-value RuntimeWarning fails the test
            proba = clf.predict_proba(Xs)
            clf.predict(Xs)
            log_proba = clf.predict_log_proba(Xs)
        assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all(), name
        if not name.startswith("multilabel"):
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12, err_msg=name)
        assert not np.isnan(log_proba).any(), name


def test_infinite_logits_give_limit_probabilities_not_nan(iris):
    """An input so large that a float32 logit overflows to +-inf: softmax(inf, -inf, 0) is (1, 0, 0), not NaN
    (scipy's softmax of raw inf logits is NaN)."""
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(), max_iter=2, random_state=0).fit(X[:, :1], y)
    clf.coefs_ = [np.array([[2.0, -2.0, 0.0]], np.float32)]
    clf.intercepts_ = [np.zeros(3, np.float32)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = clf.predict_proba(np.array([[3e38], [-3e38], [1.0]]))
    np.testing.assert_array_equal(proba[0], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(proba[1], [0.0, 1.0, 0.0])
    assert np.isfinite(proba).all()


def test_nan_network_output_raises_instead_of_returning_nan(iris):
    """inf - inf inside the network has no limit: say which rows and what to do rather than return NaN."""
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(2,), max_iter=2, random_state=0).fit(X[:, :1], y)
    # hidden units overflow to inf; the first logit is then inf - inf
    clf.coefs_ = [np.array([[2.0, 2.0]], np.float32), np.array([[1.0, 1.0, 0.0], [-1.0, 1.0, 0.0]], np.float32)]
    clf.intercepts_ = [np.zeros(2, np.float32), np.zeros(3, np.float32)]
    with pytest.raises(ValueError, match=r"output is NaN for 1 sample\(s\) \(first: row 1\).*scale the inputs"):
        clf.predict_proba(np.array([[1.0], [3e38]]))


def test_large_finite_inputs_take_the_checked_path_silently(iris):
    """Rows whose float32 sum overflows (each entry finite) must neither warn nor be rejected: the fast input
    path falls back to full validation, which accepts them."""
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y)
    big = np.full((2, X.shape[1]), 3e38)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf._check_input(big)  # finite in float32, though the sum of a row overflows
    assert clf._check_input(big).dtype == np.float32
