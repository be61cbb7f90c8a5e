"""Each update rule written again from its formula, compared over several steps."""
import math

import numpy as np
import pytest
from conftest import DTYPES

from fastnn import optimizers as O

STEPS = 5


def grads_sequence(rng, n=7):
    return [rng.standard_normal(n) for _ in range(STEPS)]


def run(opt, p0, gs, dtype):
    p = p0.astype(dtype)
    for g in gs:
        opt.step([p], [g.astype(dtype)])
    return p


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum,nesterov,dampening", [(0.0, False, 0.0), (0.9, False, 0.0), (0.9, True, 0.0), (0.8, False, 0.8)],
                         ids=["plain", "momentum", "nesterov", "ema"])
def test_sgd_matches_formula(dtype, momentum, nesterov, dampening, rng):
    p0, gs, lr = rng.standard_normal(7), grads_sequence(rng), 0.1
    p, buf = p0.copy(), np.zeros(7)
    for g in gs:
        if momentum:
            buf = momentum * buf + (1 - dampening) * g
            direction = g + momentum * buf if nesterov else buf
        else:
            direction = g
        p = p - lr * direction
    np.testing.assert_allclose(run(O.SGD(lr, momentum, nesterov, dampening), p0, gs, dtype), p, **tol(dtype))


def test_sgd_dampening_equal_to_momentum_is_the_ema(rng):
    b, lr = 0.7, 0.5
    gs = grads_sequence(rng, 3)
    m = np.zeros(3)
    for g in gs:
        m = b * m + (1 - b) * g  # exponential moving average from zero
    p = run(O.SGD(lr, momentum=b, dampening=b), np.zeros(3), gs, np.float64)
    # p = -lr * sum of the EMA values along the way; check the last increment equals -lr * m
    p_before = run(O.SGD(lr, momentum=b, dampening=b), np.zeros(3), gs[:-1], np.float64)
    np.testing.assert_allclose(p - p_before, -lr * m, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adagrad_matches_formula(dtype, rng):
    p0, gs, lr, eps = rng.standard_normal(7), grads_sequence(rng), 0.1, 1e-8
    p, G = p0.copy(), np.zeros(7)
    for g in gs:
        G += g * g
        p -= lr * g / (np.sqrt(G) + eps)
    np.testing.assert_allclose(run(O.Adagrad(lr, eps), p0, gs, dtype), p, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_rmsprop_matches_formula(dtype, rng):
    p0, gs, lr, rho, eps = rng.standard_normal(7), grads_sequence(rng), 0.01, 0.9, 1e-8
    p, E = p0.copy(), np.zeros(7)
    for g in gs:
        E = rho * E + (1 - rho) * g * g
        p -= lr * g / (np.sqrt(E) + eps)
    np.testing.assert_allclose(run(O.RMSProp(lr, rho, eps), p0, gs, dtype), p, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weight_decay", [0.0, 0.1], ids=["adam", "adamw"])
def test_adam_matches_formula_with_bias_correction(dtype, weight_decay, rng):
    p0, gs = rng.standard_normal(7), grads_sequence(rng)
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p, m, v = p0.copy(), np.zeros(7), np.zeros(7)
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * weight_decay * p
        p = p - lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    opt = O.AdamW(lr, b1, b2, eps, weight_decay) if weight_decay else O.Adam(lr, b1, b2, eps)
    np.testing.assert_allclose(run(opt, p0, gs, dtype), p, **tol(dtype))


def test_first_adam_step_moves_every_coordinate_by_lr():
    # Bias correction makes the first step lr * sign(g) (up to eps), whatever the gradient's scale.
    p = np.zeros(3)
    O.Adam(0.01).step([p], [np.array([1e-3, -5.0, 200.0])])
    np.testing.assert_allclose(p, [-0.01, 0.01, -0.01], rtol=1e-3)


def test_optimizer_keeps_dtype_and_state_per_array(rng):
    a, b = np.zeros(3, np.float32), np.zeros((2, 2), np.float32)
    opt = O.Adam(0.1)
    opt.step([a, b], [np.ones(3, np.float32), np.ones((2, 2), np.float32)])
    assert a.dtype == np.float32 and len(opt.state) == 2 and opt.state[1][0].shape == (2, 2)


def test_ensure_state_and_advance_stand_for_steps_taken_elsewhere(rng):
    """What the fused epoch does: create the state, let a kernel step, count the steps. Two zero-gradient Adam steps
    leave the moments and parameters at zero, so the next step must equal one taken after ``advance(2)``."""
    p0, g = rng.standard_normal(5), rng.standard_normal(5)
    stepped, p_stepped = O.Adam(0.1), p0.copy()
    for _ in range(2):
        stepped.step([p_stepped], [np.zeros(5)])
    stepped.step([p_stepped], [g])
    counted, p_counted = O.Adam(0.1), p0.copy()
    assert counted.ensure_state([p_counted]) and not counted.ensure_state([p_counted])
    assert [s.shape for s in counted.state[0]] == [(5,), (5,)] and not any(s.any() for s in counted.state[0])
    counted.advance(2)
    counted.step([p_counted], [g])
    assert counted.t == stepped.t == 3
    np.testing.assert_array_equal(p_counted, p_stepped)
    counted.reset()
    assert counted.t == 0 and counted.state is None


@pytest.mark.parametrize("bad", [lambda: O.SGD(0.0), lambda: O.SGD(-1.0), lambda: O.SGD(lambda t: 0.1), lambda: O.Adam(beta1=1.0),
                                 lambda: O.SGD(0.1, nesterov=True), lambda: O.RMSProp(0.1, rho=1.5)])
def test_bad_hyperparameters_raise(bad):
    with pytest.raises(ValueError):
        bad()
