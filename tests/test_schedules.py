"""learning_rate='cosine' and 'plateau' for every mini-batch solver: ``learning_rate_curve_`` follows the formulas of
``fastnn.optimizers.EpochSchedule``, the rate is constant within an epoch, and both epoch paths (fused kernel and
layer by layer) train identically with them."""
import math

import numpy as np
import pytest
from sklearn.datasets import make_classification

from fastnn import MLPClassifier
from fastnn.optimizers import Adam

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, y = make_classification(n_samples=90, n_features=5, n_informative=4, n_redundant=0, random_state=0)
LR0 = 0.01


def fit(schedule, solver="adam", fused="auto", **params):
    params = {"max_iter": 10, "batch_size": 20, "learning_rate_init": LR0, "random_state": 0, **params}
    return MLPClassifier((6,), solver=solver, learning_rate=schedule, fused=fused, **params).fit(X, y)


def test_cosine_curve_is_the_formula():
    model = fit("cosine", n_iter_no_change=100)
    expected = [LR0 * (1 + math.cos(math.pi * e / 10)) / 2 for e in range(10)]
    np.testing.assert_allclose(model.learning_rate_curve_, expected, rtol=1e-15)


def test_plateau_divides_by_five_after_n_iter_no_change_epochs_without_improvement():
    # tol so large that no epoch counts as an improvement: the count passes n_iter_no_change=2 every 3 epochs
    # after the first one (which sets the best loss).
    model = fit("plateau", tol=1e9, n_iter_no_change=2)
    expected = [LR0] * 4 + [LR0 / 5] * 3 + [LR0 / 25] * 3
    np.testing.assert_allclose(model.learning_rate_curve_, expected, rtol=1e-15)
    assert model.n_iter_ == 10  # 'plateau' goes on while lr > 1e-6, as 'adaptive' does


@pytest.mark.parametrize("solver", ["sgd", "adamw", "rmsprop", "adagrad"])
def test_new_schedules_apply_to_every_mini_batch_solver(solver):
    model = fit("cosine", solver=solver, max_iter=4, n_iter_no_change=100)
    assert model.learning_rate_curve_[0] == LR0 and model.learning_rate_curve_[-1] < LR0
    # partial_fit goes on past max_iter at the last (nonzero) rate: SGD's momentum buffer survives it
    model.partial_fit(X, y).partial_fit(X, y)
    assert model.learning_rate_curve_[-2:] == [model.learning_rate_curve_[3]] * 2 and model.learning_rate_curve_[3] > 0
    assert np.isfinite(model.coefs_[0]).all()


@pytest.mark.parametrize("schedule", ["cosine", "plateau"])
def test_adam_trains_with_the_new_schedules_fused_and_layered_alike(schedule):
    kw = dict(max_iter=25, learning_rate_init=0.05, tol=0.01, n_iter_no_change=2)
    fused, layered = fit(schedule, fused=True, **kw), fit(schedule, fused=False, **kw)
    assert fused._net.fused_epochs == fused.n_iter_ and layered._net.fused_epochs == 0
    assert fused.loss_curve_ == layered.loss_curve_ and fused.learning_rate_curve_ == layered.learning_rate_curve_
    for a, b in zip(fused.coefs_ + fused.intercepts_, layered.coefs_ + layered.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert fused.loss_curve_[-1] < 0.5 * fused.loss_curve_[0] and fused.score(X, y) > 0.85
    assert len(set(fused.learning_rate_curve_)) > 1  # the schedule did change the rate


def test_the_rate_is_constant_within_an_epoch(monkeypatch):
    """Layer by layer, every optimizer step of epoch e uses learning_rate_curve_[e]."""
    rates = []
    step = Adam.step

    def recording_step(self, params, grads):
        rates.append(float(self.lr))
        return step(self, params, grads)

    monkeypatch.setattr(Adam, "step", recording_step)
    model = fit("cosine", fused=False, max_iter=5, n_iter_no_change=100)
    per_epoch = np.reshape(rates, (5, math.ceil(len(X) / 20)))
    np.testing.assert_array_equal(per_epoch, np.repeat(np.array(model.learning_rate_curve_)[:, None], 5, axis=1))
