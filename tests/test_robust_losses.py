"""AbsoluteError and HuberLoss: kernels against NumPy references (float32 and float64, weighted and unweighted),
the loss classes against central differences in float64 away from the kinks, and the documented subgradient."""
import numpy as np
import pytest
from conftest import DTYPES

import fastnn
from fastnn.gradcheck import numerical_gradient, relative_error
from fastnn.kernels import losses as klosses
from fastnn.losses import LOSSES, AbsoluteError, HuberLoss, SquaredError

TOL = {np.float32: dict(rtol=1e-5, atol=1e-7), np.float64: dict(rtol=1e-12, atol=1e-14)}


def _data(rng, dtype, weighted, N=9, K=3):
    z = (rng.standard_normal((N, K)) * 2).astype(dtype)
    Y = (rng.standard_normal((N, K)) * 2).astype(dtype)
    z[0, 1] = Y[0, 1]  # one residual exactly at the kink
    w = rng.uniform(0.1, 2.0, N).astype(dtype) if weighted else np.empty(0, dtype)
    wr = w.astype(np.float64) if weighted else np.ones(N)
    return z, Y, w, wr


def _huber_reference(r, delta):
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta)), np.clip(r, -delta, delta)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weights", ["unweighted", "weighted"])
def test_absolute_error_kernel_matches_numpy(dtype, weights, rng):
    z, Y, w, wr = _data(rng, dtype, weights == "weighted")
    r = z.astype(np.float64) - Y.astype(np.float64)
    dz = np.empty_like(z)
    loss = klosses.absolute_error(z, Y, w, dz)
    np.testing.assert_allclose(loss, np.sum(wr * np.abs(r).sum(1)) / wr.sum(), **TOL[dtype])
    assert dz.dtype == dtype
    np.testing.assert_allclose(dz, np.sign(r) * wr[:, None] / wr.sum(), **TOL[dtype])
    assert dz[0, 1] == 0  # subgradient 0 at the kink


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weights", ["unweighted", "weighted"])
@pytest.mark.parametrize("delta", [0.5, 1.0, 3.0])
def test_huber_kernel_matches_numpy(delta, dtype, weights, rng):
    z, Y, w, wr = _data(rng, dtype, weights == "weighted")
    r = z.astype(np.float64) - Y.astype(np.float64)
    assert np.any(np.abs(r) > delta) and np.any(np.abs(r) < delta)  # both branches are exercised
    h, g = _huber_reference(r, delta)
    dz = np.empty_like(z)
    loss = klosses.huber(z, Y, w, delta, dz)
    np.testing.assert_allclose(loss, np.sum(wr * h.sum(1)) / wr.sum(), **TOL[dtype])
    assert dz.dtype == dtype
    np.testing.assert_allclose(dz, g * wr[:, None] / wr.sum(), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_robust_loss_kernels_propagate_nan(dtype):
    z = np.array([[np.nan, 1.0]], dtype)
    Y = np.zeros((1, 2), dtype)
    for kernel in (lambda dz: klosses.absolute_error(z, Y, np.empty(0, dtype), dz),
                   lambda dz: klosses.huber(z, Y, np.empty(0, dtype), 1.0, dz)):
        dz = np.empty_like(z)
        assert np.isnan(kernel(dz))
        assert np.isnan(dz[0, 0]) and dz[0, 1] == 1  # the finite entry is untouched by the NaN


def _residuals_away_from(kinks, rng, shape=(6, 4)):
    """(z, y) whose residuals are at least 0.05 away from every kink, so finite differences see a smooth function."""
    y = rng.standard_normal(shape) * 2
    r = rng.uniform(-4, 4, shape)
    for k in kinks:
        near = np.abs(r - k) < 0.05
        r[near] += 0.2
    return y + r, y


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    "case", ["absolute_error", "huber_delta_1", "huber_delta_0.3", "huber_delta_2.5"],
)
def test_robust_loss_gradcheck_away_from_kinks(case, weighted):
    rng = np.random.default_rng(11)
    if case == "absolute_error":
        loss, kinks = AbsoluteError(), [0.0]
    else:
        delta = float(case.rsplit("_", 1)[1])
        loss, kinks = HuberLoss(delta), [-delta, delta]
    z, y = _residuals_away_from(kinks, rng)
    w = rng.uniform(0.2, 3.0, z.shape[0]) if weighted else None
    loss.forward(z, y, w)
    analytic = loss.backward().copy()
    numeric = numerical_gradient(lambda: loss.forward(z, y, w), z)
    assert relative_error(analytic, numeric) < 1e-6


def test_huber_is_squared_error_inside_delta_and_shifted_absolute_error_outside():
    rng = np.random.default_rng(2)
    y = rng.standard_normal((5, 2))
    huber, squared, absolute = HuberLoss(1.0), SquaredError(), AbsoluteError()
    small = y + rng.uniform(-0.9, 0.9, y.shape)
    assert huber.forward(small, y) == pytest.approx(squared.forward(small, y), rel=1e-12)
    np.testing.assert_allclose(huber.backward(), squared.backward(), rtol=1e-12)
    large = y + rng.choice([-1, 1], y.shape) * rng.uniform(2, 5, y.shape)
    huber = HuberLoss(1.5)
    # delta (|r| - delta / 2) summed over the K = 2 outputs: delta * AbsoluteError - K delta^2 / 2
    assert huber.forward(large, y) == pytest.approx(1.5 * absolute.forward(large, y) - 2 * 1.125, rel=1e-12)
    np.testing.assert_allclose(huber.backward(), 1.5 * absolute.backward(), rtol=1e-12)


@pytest.mark.parametrize("cls", [AbsoluteError, HuberLoss])
def test_robust_losses_keep_float32_and_identity_link(cls):
    z = np.array([[0.5, -2.0], [1.0, 3.0]], np.float32)
    loss = cls()
    value = loss.forward(z, np.zeros((2, 2), np.float32), np.array([1.0, 2.0]))
    assert isinstance(value, float)
    assert loss.backward().dtype == np.float32
    np.testing.assert_array_equal(loss.output(z), z)
    assert loss.link == "identity"


def test_absolute_error_subgradient_is_zero_at_the_kink():
    loss = AbsoluteError()
    assert loss.forward(np.array([[1.0, 2.0, 3.0]]), np.array([[1.0, 1.0, 4.0]])) == 2.0
    np.testing.assert_array_equal(loss.backward(), [[0.0, 1.0, -1.0]])


def test_robust_losses_are_registered_and_exported():
    assert LOSSES["absolute_error"] is AbsoluteError and LOSSES["huber"] is HuberLoss
    assert fastnn.AbsoluteError is AbsoluteError and fastnn.HuberLoss is HuberLoss
    assert HuberLoss().delta == 1.0 and repr(HuberLoss(0.5)) == "HuberLoss(delta=0.5)"


@pytest.mark.parametrize("delta", [0, -1.0, np.inf, np.nan, "1", True])
def test_huber_rejects_bad_delta(delta):
    with pytest.raises(ValueError, match="delta must be a positive finite number"):
        HuberLoss(delta)


def test_robust_losses_fit_a_line_through_outliers_better_than_squared_error():
    """A linear model trained with each loss on y = 2x + 1 + noise where 15% of targets are shifted by +20: the
    robust losses stay near the line (Huber's bias is bounded by about delta * outlier share / inlier share), the
    squared error is pulled towards the outliers."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (200, 1))
    y = 2 * X[:, 0] + 1 + 0.1 * rng.standard_normal(200)
    y[rng.random(200) < 0.15] += 20.0
    errors = {}
    for name, loss in [("squared", SquaredError()), ("huber", HuberLoss(0.5)), ("absolute", AbsoluteError())]:
        net = fastnn.Sequential([fastnn.Dense(1)], loss, fastnn.Adam(0.05))
        net.build((1,), np.float64, random_state=0)
        for _ in range(1500):
            net.train_step(X, y)
        errors[name] = abs(net.layers[0].W[0, 0] - 2.0) + abs(net.layers[0].b[0] - 1.0)
    assert errors["huber"] < 0.15 and errors["absolute"] < 0.1, errors
    assert errors["squared"] > 1.0, errors
