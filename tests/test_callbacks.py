"""scikit-learn's callback API (``sklearn.callback``) on fastnn's estimators: one root task per fit and one subtask
per epoch (per L-BFGS iteration), ``fitted_estimator`` at every epoch, stopping from a callback, propagation from
GridSearchCV / Pipeline, sklearn's ProgressBar and ScoringMonitor, and scikit-learn without ``sklearn.callback``.
Tiny data and few epochs: what is tested is the event stream, not the learning."""
import pickle
import warnings
from collections import Counter

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastnn.training.callbacks
from fastnn import CNNClassifier, MLPClassifier, MLPRegressor

callback = pytest.importorskip("sklearn.callback", reason="sklearn.callback needs scikit-learn >= 1.9")

X, y = make_classification(n_samples=80, n_features=6, n_informative=4, n_classes=3, random_state=0)
W = np.linspace(0.5, 1.5, len(y))


class Recorder:
    """Records every hook call; ``on_fit_task_end`` of the epoch ``stop_at`` (1-based) returns True. With
    ``keep_estimators``, keeps each epoch's ``fitted_estimator``."""

    max_propagation_depth = None  # an AutoPropagatedCallback: meta-estimators pass it down

    def __init__(self, stop_at=None, keep_estimators=False):
        self.stop_at, self.keep = stop_at, keep_estimators
        self.calls, self.fitted, self.data = [], [], []

    def setup(self, estimator, context):
        self.calls.append(("setup", type(estimator).__name__))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", type(estimator).__name__))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None):
        self.calls.append(("begin", context.estimator_name, context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None, fitted_estimator=None):
        self.calls.append(("end", context.estimator_name, context.task_name, context.task_id))
        self.data.append((X, y, metadata))
        if context.task_name in ("epoch", "lbfgs-iter"):
            if self.keep:
                self.fitted.append(fitted_estimator)
            return self.stop_at is not None and context.task_id + 1 >= self.stop_at
        return False


class Lean(Recorder):
    """A callback that never asks for ``fitted_estimator``."""

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None):
        self.calls.append(("end", context.estimator_name, context.task_name, context.task_id))


def epoch_pairs(calls, name="epoch"):
    return [c[0] for c in calls if c[0] in ("begin", "end") and c[2] == name]


def fit_no_warning(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return est.fit(*args, **kwargs)


# ---------------------------------------------------------------------------------------------- tasks and hooks
@pytest.mark.parametrize("fused", [True, False])
def test_one_begin_end_pair_per_epoch_inside_one_fit_task(fused):
    rec = Recorder()
    clf = MLPClassifier((5,), max_iter=30, tol=0.05, n_iter_no_change=2, random_state=0, fused=fused)
    clf.set_callbacks(rec).fit(X, y, sample_weight=W)
    assert clf.n_iter_ < 30  # n_iter_no_change stopped it: one pair per epoch actually run
    hooks = [c for c in rec.calls if c[0] in ("begin", "end")]
    assert hooks[0] == ("begin", "MLPClassifier", "fit", 0) and hooks[-1] == ("end", "MLPClassifier", "fit", 0)
    assert hooks[1:-1] == [(kind, "MLPClassifier", "epoch", i) for i in range(clf.n_iter_) for kind in ("begin", "end")]
    assert rec.calls[0] == ("setup", "MLPClassifier") and rec.calls[-1] == ("teardown", "MLPClassifier")
    for X_seen, y_seen, metadata in rec.data:
        assert X_seen is X and y_seen is y and metadata["sample_weight"] is W


def test_partial_fit_is_one_task_with_one_epoch():
    rec = Recorder()
    clf = MLPClassifier((5,), random_state=0).set_callbacks(rec)
    clf.partial_fit(X, y, classes=np.unique(y)).partial_fit(X, y)
    hooks = [c[:3] for c in rec.calls if c[0] in ("begin", "end")]
    assert hooks == [("begin", "MLPClassifier", "partial_fit"), ("begin", "MLPClassifier", "epoch"),
                     ("end", "MLPClassifier", "epoch"), ("end", "MLPClassifier", "partial_fit")] * 2


def test_lbfgs_one_pair_per_iteration_and_stop():
    rec = Recorder()
    clf = fit_no_warning(MLPClassifier((5,), solver="lbfgs", max_iter=500, random_state=0).set_callbacks(rec), X, y)
    assert epoch_pairs(rec.calls, "lbfgs-iter") == ["begin", "end"] * clf.n_iter_
    stopped = fit_no_warning(
        MLPClassifier((5,), solver="lbfgs", max_iter=500, random_state=0).set_callbacks(Recorder(stop_at=4)), X, y
    )
    reference = MLPClassifier((5,), solver="lbfgs", max_iter=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached: expected for the reference
        reference.fit(X, y)
    assert stopped.n_iter_ == 4
    np.testing.assert_array_equal(stopped.predict_proba(X), reference.predict_proba(X))


# ---------------------------------------------------------------------------------------------- stopping
@pytest.mark.parametrize("stop_at, max_iter", [(3, 20), (6, 6)])
def test_a_callback_returning_true_stops_after_that_epoch_cleanly(stop_at, max_iter):
    rec = Recorder(stop_at=stop_at)
    clf = fit_no_warning(MLPClassifier((5,), max_iter=max_iter, random_state=0).set_callbacks(rec), X, y)
    assert clf.n_iter_ == stop_at == len(clf.loss_curve_) == len(clf.learning_rate_curve_)
    assert epoch_pairs(rec.calls) == ["begin", "end"] * stop_at
    assert ("teardown", "MLPClassifier") in rec.calls


def test_stopping_with_early_stopping_restores_the_best_weights():
    X_val, y_val = X[:30], y[:30]
    rec = Recorder(stop_at=12, keep_estimators=True)
    clf = MLPClassifier((5,), max_iter=50, learning_rate_init=0.1, early_stopping=True, n_iter_no_change=50,
                        scoring="loss", random_state=0).set_callbacks(rec)
    fit_no_warning(clf, X[30:], y[30:], X_val=X_val, y_val=y_val)
    assert clf.n_iter_ == 12 == len(clf.validation_scores_)
    best = int(np.argmax(clf.validation_scores_))
    assert best < 11  # the last epoch is not the best one here (it is the 7th), so the restore is visible
    np.testing.assert_array_equal(clf.predict_proba(X_val), rec.fitted[best].predict_proba(X_val))


# ---------------------------------------------------------------------------------------------- fitted_estimator
def test_fitted_estimator_predicts_as_the_model_at_that_epoch():
    rec = Recorder(keep_estimators=True)
    clf = MLPClassifier((5,), max_iter=5, random_state=0).set_callbacks(rec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        for epoch in (1, 3, 5):  # the same fit stopped by max_iter after `epoch` epochs
            reference = MLPClassifier((5,), max_iter=epoch, random_state=0).fit(X, y)
            snapshot = rec.fitted[epoch - 1]
            np.testing.assert_array_equal(snapshot.predict_proba(X), reference.predict_proba(X))
            assert snapshot.n_iter_ == epoch and snapshot.loss_curve_ == reference.loss_curve_
    assert rec.fitted[0] is not clf and not np.shares_memory(rec.fitted[0].coefs_[0], clf.coefs_[0])
    restored = pickle.loads(pickle.dumps(rec.fitted[2]))  # a snapshot is an ordinary, picklable estimator
    np.testing.assert_array_equal(restored.predict(X), rec.fitted[2].predict(X))


def test_reconstruction_attributes_cut_the_parameter_vector_in_coefs_order():
    """The split relies on the flat layout only: on a stack with BatchNorm (gamma/beta are parameters too), the
    vector of the live network gives arrays equal to coefs_/intercepts_, not sharing their memory."""
    from fastnn import NeuralNetClassifier
    from fastnn.layers import BatchNorm, Dense, ReLU

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = NeuralNetClassifier([Dense(6), BatchNorm(), ReLU(), Dense(4), ReLU()], max_iter=2, random_state=0)
        clf.fit(X, y)
    flat = clf.network_.flat_params
    attrs = fastnn.training.callbacks.reconstruction_attributes(clf, flat * 2)
    for name in ("coefs_", "intercepts_"):
        assert [a.shape for a in attrs[name]] == [a.shape for a in getattr(clf, name)]
        for got, live in zip(attrs[name], getattr(clf, name)):
            np.testing.assert_array_equal(got, live * 2)
            assert not np.shares_memory(got, flat)


def test_fitted_estimator_is_built_only_when_a_callback_asks(monkeypatch):
    built = []
    original = fastnn.training.callbacks.reconstruction_attributes
    monkeypatch.setattr(fastnn.training.callbacks, "reconstruction_attributes", lambda *a: built.append(1) or original(*a))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier((5,), max_iter=4, random_state=0).set_callbacks(Lean()).fit(X, y)
        assert built == []
        MLPClassifier((5,), max_iter=4, random_state=0).set_callbacks(Recorder()).fit(X, y)
    assert len(built) == 4  # each epoch's end hook (begin hooks do not ask here)


def test_callbacks_do_not_change_the_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPRegressor(hidden_layer_sizes=(5,), max_iter=6, random_state=0).fit(X, y.astype(float))
        watched = MLPRegressor(hidden_layer_sizes=(5,), max_iter=6, random_state=0).set_callbacks(Recorder(keep_estimators=True))
        watched.fit(X, y.astype(float))
    np.testing.assert_array_equal(plain.predict(X), watched.predict(X))
    assert plain.loss_curve_ == watched.loss_curve_


def test_a_failing_callback_leaves_the_estimator_and_its_callbacks_as_they_were():
    class Boom(Recorder):
        def on_fit_task_end(self, estimator, context, **kwargs):
            if context.task_id == 2:
                raise RuntimeError("boom")

    boom = Boom()
    clf = MLPClassifier((5,), max_iter=10, random_state=0).set_callbacks(boom)
    with pytest.raises(RuntimeError, match="boom"):
        clf.fit(X, y)
    assert not hasattr(clf, "coefs_") and clf._skl_callbacks == [boom]
    assert boom.calls[-1] == ("teardown", "MLPClassifier")


# ---------------------------------------------------------------------------------------------- meta-estimators
def test_gridsearch_propagates_a_callback_to_every_epoch_of_every_fit():
    rec = Recorder()
    search = GridSearchCV(MLPClassifier((4,), max_iter=3, random_state=0), {"alpha": [1e-4, 1e-2]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.set_callbacks(rec).fit(X, y)
    counts = Counter(c[:3] for c in rec.calls if c[0] in ("begin", "end"))
    n_fits = 2 * 2 + 1  # candidates x folds, and the refit
    assert counts[("begin", "MLPClassifier", "fit")] == counts[("end", "MLPClassifier", "fit")] == n_fits
    assert counts[("begin", "MLPClassifier", "epoch")] == counts[("end", "MLPClassifier", "epoch")] == 3 * n_fits


def test_pipeline_propagates_a_callback_to_the_epochs():
    rec = Recorder()
    pipe = make_pipeline(StandardScaler(), MLPClassifier((4,), max_iter=3, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.set_callbacks(rec).fit(X, y)
    assert epoch_pairs(rec.calls) == ["begin", "end"] * 3


# ---------------------------------------------------------------------------------------------- sklearn's callbacks
def test_sklearn_progress_bar_runs(capsys):
    pytest.importorskip("rich")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPClassifier((4,), max_iter=4, random_state=0).fit(X, y)
        clf = MLPClassifier((4,), max_iter=4, random_state=0).set_callbacks(callback.ProgressBar()).fit(X, y)
    out = capsys.readouterr().out
    assert "MLPClassifier" in out and "100%" in out
    np.testing.assert_array_equal(clf.predict_proba(X), plain.predict_proba(X))


def test_scoring_monitor_scores_every_epoch():
    monitor = callback.ScoringMonitor(scoring=["accuracy", "neg_log_loss"])
    clf = CNNClassifier(conv_layers=((2, 3),), max_iter=3, random_state=0).set_callbacks(monitor)
    images = np.random.default_rng(0).standard_normal((40, 1, 4, 4))
    labels = (images[:, 0, 0, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(images, labels)
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert [row["task_id"] for row in rows] == [0, 1, 2]
    assert rows[-1]["accuracy"] == clf.score(images, labels)


# ---------------------------------------------------------------------------------------------- older scikit-learn
def test_without_sklearn_callback_set_callbacks_is_absent_and_fits_work(monkeypatch):
    monkeypatch.setattr(fastnn.training.callbacks, "sklearn_callback_module", lambda: None)
    clf = MLPClassifier((4,), max_iter=3, random_state=0, progress_bar=True)
    assert not hasattr(clf, "set_callbacks")
    with pytest.raises(AttributeError, match=r"set_callbacks needs scikit-learn >= 1\.9"):
        clf.set_callbacks(Recorder())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert clf.fit(X, y).n_iter_ == 3
