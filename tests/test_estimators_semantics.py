"""One test per scikit-learn semantic that could silently break: trajectories, schedules, early stopping,
partial_fit, multi-label, failure safety, reproducibility, pickling."""
import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_classification, make_friedman1, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.preprocessing import StandardScaler

from fastnn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=300, n_features=8, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def friedman():
    X, y = make_friedman1(n_samples=300, noise=0.5, random_state=0)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


@pytest.fixture(scope="module")
def fitted_iris(iris):
    X, y = iris
    return MLPClassifier(hidden_layer_sizes=(10,), max_iter=50, learning_rate_init=0.01, random_state=0).fit(X, y)


# ------------------------------------------------------------------ trajectories vs scikit-learn
# The same random_state draws scikit-learn's initial weights and shuffling order, so the loss curves coincide
# up to float32 rounding.
TRAJECTORY_CASES = {
    "adam_multiclass": (dict(), "iris", None),
    "sgd_nesterov": (dict(solver="sgd", learning_rate_init=0.05), "iris", None),
    "sgd_momentum_invscaling": (
        dict(solver="sgd", nesterovs_momentum=False, learning_rate="invscaling", learning_rate_init=0.5), "iris", None),
    "adam_binary_weighted": (dict(), "binary", "weights"),
    "adam_logistic_batch50": (dict(activation="logistic", batch_size=50), "binary", None),
    "adam_regression_tanh": (dict(activation="tanh", alpha=0.1), "friedman", None),
}


@pytest.mark.parametrize("case", sorted(TRAJECTORY_CASES))
def test_loss_curve_matches_sklearn_first_epochs(case, iris, binary, friedman):
    params, data, weights = TRAJECTORY_CASES[case]
    X, y = {"iris": iris, "binary": binary, "friedman": friedman}[data]
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(y)) if weights else None
    common = dict(hidden_layer_sizes=(12,), max_iter=6, random_state=3, **params)
    ours_cls, sk_cls = (MLPRegressor, SkMLPRegressor) if data == "friedman" else (MLPClassifier, SkMLPClassifier)
    ours = ours_cls(**common).fit(X, y, sample_weight=sw)
    ref = sk_cls(**common).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=2e-4, err_msg=f"ours vs sklearn ({case})")
    for ours_W, ref_W in zip(ours.coefs_, ref.coefs_):
        np.testing.assert_allclose(ours_W, ref_W, atol=2e-4)


def test_multioutput_squared_error_loss_is_averaged_over_outputs_like_sklearn(friedman):
    X, y = friedman
    Y = np.column_stack([y, 2 * y, -y])
    ours = MLPRegressor(hidden_layer_sizes=(8,), max_iter=4, random_state=0).fit(X, Y)
    ref = SkMLPRegressor(hidden_layer_sizes=(8,), max_iter=4, random_state=0).fit(X, Y)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=2e-4)


def test_lbfgs_matches_sklearn_float64(iris):
    X, y = iris
    ours = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(6,), max_iter=30, random_state=0, dtype=np.float64).fit(X, y)
    ref = SkMLPClassifier(solver="lbfgs", hidden_layer_sizes=(6,), max_iter=30, random_state=0).fit(X, y)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=1e-6)
    assert not hasattr(ours, "loss_curve_") and ours.t_ == 0


def test_poisson_regressor_matches_sklearn_and_uses_exp_output(friedman):
    X, y = friedman
    counts = np.random.default_rng(0).poisson(np.exp(0.5 * y))
    ours = MLPRegressor("poisson", hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, counts)
    ref = SkMLPRegressor("poisson", hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, counts)
    assert ours.out_activation_ == "exp"
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=2e-4)
    assert (ours.predict(X) > 0).all()


# ------------------------------------------------------------------ schedules and stopping
def test_invscaling_learning_rate_after_n_samples_equals_formula(iris):
    X, y = iris
    clf = MLPClassifier(solver="sgd", learning_rate="invscaling", learning_rate_init=0.2, power_t=0.4,
                        max_iter=3, random_state=0).fit(X, y)
    assert clf.t_ == 3 * len(y)
    assert clf._optimizer.lr == pytest.approx(0.2 / (clf.t_ + 1) ** 0.4, rel=1e-12)


def test_adaptive_divides_by_5_then_stops_below_1e_6(iris):
    X, y = iris
    clf = MLPClassifier(solver="sgd", learning_rate="adaptive", learning_rate_init=0.01, tol=10.0,
                        n_iter_no_change=1, max_iter=100, random_state=0).fit(X, y)
    # no improvement counted from epoch 2; each time the count exceeds 1 (epochs 3, 5, ..., 13) lr /= 5, and at
    # epoch 15 lr = 0.01 / 5**6 = 6.4e-7 <= 1e-6 stops training (scikit-learn stops at the same epoch)
    assert clf._optimizer.lr == pytest.approx(0.01 / 5 ** 6)
    assert clf.n_iter_ == 15
    ref = SkMLPClassifier(solver="sgd", learning_rate="adaptive", learning_rate_init=0.01, tol=10.0,
                          n_iter_no_change=1, max_iter=100, random_state=0).fit(X, y)
    assert ref.n_iter_ == 15 and ref._optimizer.learning_rate == pytest.approx(clf._optimizer.lr)


def test_n_iter_no_change_stops_training_and_max_iter_warns(iris):
    X, y = iris
    clf = MLPClassifier(tol=10.0, n_iter_no_change=3, max_iter=100, random_state=0).fit(X, y)
    assert clf.n_iter_ == 5  # count > 3 after epochs 2..5 without improvement
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier(max_iter=2, random_state=0).fit(X, y)


def test_early_stopping_restores_best_weights(friedman):
    X, y = friedman
    reg = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.05, early_stopping=True, n_iter_no_change=4,
                       validation_fraction=0.2, random_state=0).fit(X, y)
    best = int(np.argmax(reg.validation_scores_))
    assert best < len(reg.validation_scores_) - 1, "the run should continue past its best epoch"
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert len(reg.validation_loss_curve_) == len(reg.validation_scores_) == reg.n_iter_
    assert reg.best_loss_ is None
    # Rebuild scikit-learn's split: the initial weights are drawn first from the same RandomState.
    rs = np.random.RandomState(0)
    for W, b in zip(reg.coefs_, reg.intercepts_):
        rs.uniform(size=W.shape), rs.uniform(size=b.shape)
    _, Xv, _, yv = train_test_split(X, y, test_size=0.2, random_state=rs)
    assert r2_score(yv, reg.predict(Xv)) == pytest.approx(reg.best_validation_score_, abs=1e-5)


def test_early_stopping_classifier_scores_are_accuracies(binary):
    X, y = binary
    clf = MLPClassifier(early_stopping=True, max_iter=30, random_state=0).fit(X, y)
    assert all(0 <= s <= 1 for s in clf.validation_scores_)
    with pytest.raises(ValueError, match="early_stopping"):
        clf.partial_fit(X, y)


# ------------------------------------------------------------------ targets
def test_partial_fit_after_classes_accepts_single_class_batch(iris):
    X, y = iris
    clf = MLPClassifier(random_state=0)
    clf.partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    assert clf.predict_proba(X).shape == (150, 3) and list(clf.classes_) == [0, 1, 2]
    t = clf._optimizer.t
    clf.partial_fit(X[y == 2], y[y == 2])
    assert clf._optimizer.t > t, "partial_fit keeps the optimizer state"
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="not in `self.classes_`"):
        clf.partial_fit(X[:3], ["x", "y", "z"])


def test_multilabel_predict_proba_rows_do_not_sum_to_one():
    X, Y = make_multilabel_classification(n_samples=120, n_classes=4, random_state=0)
    clf = MLPClassifier(max_iter=50, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 4
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 4)
    assert not np.allclose(proba.sum(axis=1), 1.0)
    assert set(np.unique(clf.predict(X))) <= {0, 1} and clf.predict(X).shape == (120, 4)


def test_binary_string_labels_use_one_logistic_output(binary):
    X, y = binary
    labels = np.array(["no", "yes"], dtype=object)[y]
    clf = MLPClassifier(max_iter=20, random_state=0).fit(X, labels)
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic" and clf.coefs_[-1].shape[1] == 1
    assert set(clf.predict(X)) <= {"no", "yes"}
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba)


def test_class_weight_balanced_equals_sample_weight(binary):
    X, y = binary
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:50]]
    X, y = X[keep], y[keep]
    sw = np.where(y == 1, len(y) / (2 * 50), len(y) / (2 * (len(y) - 50)))
    a = MLPClassifier(class_weight="balanced", max_iter=10, random_state=0, dtype=np.float64).fit(X, y)
    b = MLPClassifier(max_iter=10, random_state=0, dtype=np.float64).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-10)
    c = MLPClassifier(class_weight={0: 1.0, 1: 5.0}, max_iter=10, random_state=0).fit(X, y)
    assert c.predict(X).mean() > b.predict(X).mean() - 0.5  # runs; weights favour class 1
    with pytest.raises(ValueError, match="balanced"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


def test_sparse_input_matches_dense(iris):
    import scipy.sparse as sp

    X, y = iris
    for solver in ("adam", "lbfgs"):
        dense = MLPClassifier(solver=solver, max_iter=5, random_state=0, dtype=np.float64).fit(X, y)
        sparse = MLPClassifier(solver=solver, max_iter=5, random_state=0, dtype=np.float64).fit(sp.csr_matrix(X), y)
        np.testing.assert_allclose(sparse.coefs_[0], dense.coefs_[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(sparse.predict_proba(sp.csc_matrix(X)), dense.predict_proba(X), rtol=1e-9)


# ------------------------------------------------------------------ extras
@pytest.mark.parametrize("solver", ["adagrad", "rmsprop", "adamw"])
def test_extra_solvers_learn(iris, solver):
    X, y = iris
    clf = MLPClassifier(solver=solver, activation="leaky_relu", learning_rate_init=0.01, max_iter=100,
                        random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.9


def test_dropout_trains_and_predicts_deterministically(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(32,), dropout=0.3, learning_rate_init=0.01, max_iter=100,
                        random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.9
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))
    again = MLPClassifier(hidden_layer_sizes=(32,), dropout=0.3, learning_rate_init=0.01, max_iter=100,
                          random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.coefs_[0], again.coefs_[0])


def test_warm_start_continues_from_previous_weights(iris):
    X, y = iris
    clf = MLPClassifier(max_iter=5, warm_start=True, random_state=0).fit(X, y)
    first = clf.loss_curve_[:]
    clf.fit(X, y)
    assert len(clf.loss_curve_) == 10 and clf.loss_curve_[:5] == first and clf.t_ == 10 * len(y)
    with pytest.raises(ValueError, match="warm_start"):
        clf.fit(X[y < 2], y[y < 2])


def test_verbose_prints_sklearn_lines(iris, capsys):
    X, y = iris
    MLPClassifier(max_iter=2, verbose=True, early_stopping=True, random_state=0).fit(X, y)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Iteration 1, loss = ") and len(out[0].split("= ")[1]) == 10
    assert out[1].startswith("Validation score: ")


# ------------------------------------------------------------------ failure safety, reproducibility, pickling
def _state(est):
    return pickle.dumps(est.__getstate__())


def test_failed_partial_fit_leaves_model_unchanged(iris):
    X, y = iris
    clf = MLPClassifier(solver="sgd", learning_rate_init=0.1, max_iter=5, random_state=0).fit(X, y)
    clf.partial_fit(X, y)
    before = [c.copy() for c in clf.coefs_], clf.predict_proba(X), clf.loss_curve_[:], clf._optimizer.t, clf.t_
    huge = np.full((200, 4), 3e38)
    with pytest.raises(ValueError, match="non-finite.*scale the inputs"):
        clf.partial_fit(huge, np.resize(y, 200))
    for old, new in zip(before[0], clf.coefs_):
        np.testing.assert_array_equal(old, new)
    np.testing.assert_array_equal(before[1], clf.predict_proba(X))
    assert (clf.loss_curve_, clf._optimizer.t, clf.t_) == before[2:]
    clf.partial_fit(X, y)  # still trainable afterwards


def test_failed_fit_of_fitted_model_leaves_it_unchanged(iris):
    X, y = iris
    clf = MLPClassifier(solver="sgd", max_iter=5, random_state=0).fit(X, y)
    proba, attrs = clf.predict_proba(X), sorted(vars(clf))
    with pytest.raises(ValueError, match="non-finite"):
        clf.fit(np.full((200, 4), 3e38), np.resize(y, 200))
    np.testing.assert_array_equal(proba, clf.predict_proba(X))
    assert sorted(vars(clf)) == attrs


def test_same_random_state_gives_bit_identical_weights(iris):
    X, y = iris
    for solver in ("adam", "sgd", "lbfgs"):
        a = MLPClassifier(solver=solver, max_iter=20, random_state=7).fit(X, y)
        b = MLPClassifier(solver=solver, max_iter=20, random_state=7).fit(X, y)
        for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
            assert wa.tobytes() == wb.tobytes()


def test_pickle_holds_arrays_only_and_predicts_identically_in_fresh_process(fitted_iris, iris, tmp_path):
    X, _ = iris
    data = pickle.dumps(fitted_iris)
    for forbidden in (b"fastnn.network", b"fastnn.layers", b"fastnn.optimizers", b"numba"):
        assert forbidden not in data
    (tmp_path / "model.pkl").write_bytes(data)
    np.save(tmp_path / "X.npy", X)
    code = (
        "import pickle, numpy as np; m = pickle.load(open('model.pkl', 'rb')); "
        "np.save('proba.npy', m.predict_proba(np.load('X.npy'))); m.partial_fit(np.load('X.npy')[:10], m.predict(np.load('X.npy')[:10]))"
    )
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "proba.npy"), fitted_iris.predict_proba(X))


def test_assigning_coefs_rebuilds_the_network(fitted_iris, iris):
    import copy

    X, _ = iris
    clf = copy.deepcopy(fitted_iris)
    clf.coefs_ = [np.zeros_like(c) for c in clf.coefs_]
    clf.intercepts_ = [np.zeros_like(b) for b in clf.intercepts_]
    np.testing.assert_allclose(clf.predict_proba(X), 1 / 3)
