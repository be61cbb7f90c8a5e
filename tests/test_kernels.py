"""Every kernel against a plain NumPy reference, in float32 and float64."""
import numpy as np
import pytest
from conftest import DTYPES, TOL
from scipy.special import expit, softmax

from fastnn.kernels import activations, dense, dropout, losses
from fastnn.kernels import softmax as ksoftmax
from fastnn.layers import ACTIVATIONS

EMPTY = {dt: np.empty(0, dt) for dt in DTYPES}


def close(ours, ref, dtype, scale=1.0):
    tol = TOL[dtype]
    np.testing.assert_allclose(ours, ref, rtol=tol["rtol"] * scale, atol=tol["atol"] * scale,
                               err_msg="ours vs NumPy reference")


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_forward_matches_numpy(dtype, rng):
    x, W, b = (rng.standard_normal(s).astype(dtype) for s in [(7, 5), (5, 3), (3,)])
    out = np.empty((7, 3), dtype)
    dense.dense_forward(x, W, b, out)
    close(out, x @ W + b, dtype, 10)
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_dense_backward_matches_numpy(dtype, alpha, rng):
    x, W, dout = (rng.standard_normal(s).astype(dtype) for s in [(7, 5), (5, 3), (7, 3)])
    dW, db, dx = np.empty_like(W), np.empty(3, dtype), np.empty_like(x)
    dense.dense_backward(x, W, dout, alpha, dW, db, dx)
    close(dW, x.T @ dout + alpha * W, dtype, 10)
    close(db, dout.sum(0), dtype, 10)
    close(dx, dout @ W.T, dtype, 10)


def test_dense_backward_skips_input_gradient_when_dx_empty(rng):
    x, W, dout = (rng.standard_normal(s) for s in [(4, 2), (2, 3), (4, 3)])
    dW, db = np.empty_like(W), np.empty(3)
    dense.dense_backward(x, W, dout, 0.0, dW, db, np.empty((0, 0)))
    close(dW, x.T @ dout, np.float64, 10)


REFS = {
    "identity": (lambda z, s: z, lambda y, s: np.ones_like(y)),
    "relu": (lambda z, s: np.maximum(z, 0), lambda y, s: (y > 0).astype(y.dtype)),
    "leaky_relu": (lambda z, s: np.where(z > 0, z, s * z), lambda y, s: np.where(y > 0, 1, s).astype(y.dtype)),
    "logistic": (lambda z, s: expit(z), lambda y, s: y * (1 - y)),
    "tanh": (lambda z, s: np.tanh(z), lambda y, s: 1 - y * y),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(REFS))
def test_activation_forward_backward_match_numpy(name, dtype, rng):
    code, slope = ACTIVATIONS[name]().code, 0.1
    z = (rng.standard_normal(50) * 3).astype(dtype)
    y = np.empty_like(z)
    activations.activation_forward(z, code, slope, y)
    ref_f, ref_d = REFS[name]
    close(y, ref_f(z, slope).astype(dtype), dtype, 5)
    dout = rng.standard_normal(50).astype(dtype)
    dx = np.empty_like(z)
    activations.activation_backward(y, dout, code, slope, dx)
    close(dx, dout * ref_d(y, slope), dtype, 5)
    assert y.dtype == dx.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_activation_in_place(dtype, rng):
    z = rng.standard_normal(20).astype(dtype)
    ref = np.tanh(z)
    activations.activation_forward(z, activations.TANH, 0.0, z)
    close(z, ref, dtype, 5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logistic_does_not_overflow(dtype):
    z = np.array([-1000, -100, -1, 0, 1, 100, 1000], dtype)
    y = np.empty_like(z)
    with np.errstate(over="raise"):
        activations.activation_forward(z, activations.LOGISTIC, 0.0, y)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, expit(z.astype(np.float64)), rtol=1e-6, atol=1e-30)


def _weights(kind, n, rng, dtype):
    return EMPTY[dtype] if kind == "none" else rng.uniform(0.1, 2.0, n).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weights", ["none", "weighted"])
def test_softmax_cross_entropy_matches_numpy(dtype, weights, rng):
    N, K = 9, 4
    z = (rng.standard_normal((N, K)) * 3).astype(dtype)
    labels = rng.integers(0, K, N)
    Y = np.eye(K, dtype=dtype)[labels]
    w = _weights(weights, N, rng, dtype)
    wr = np.ones(N) if w.size == 0 else w.astype(np.float64)
    p = softmax(z.astype(np.float64), axis=1)
    ref_loss = np.sum(wr * -np.log(p[np.arange(N), labels])) / wr.sum()
    ref_dz = (p - Y) * wr[:, None] / wr.sum()
    for dz, loss in [(dz := np.empty_like(z), ksoftmax.softmax_cross_entropy(z, Y, w, dz)),
                     (dz2 := np.empty_like(z), ksoftmax.softmax_cross_entropy_labels(z, labels, w, dz2))]:
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-5 if dtype == np.float32 else 1e-12)
        close(dz, ref_dz, dtype, 10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weights", ["none", "weighted"])
def test_sigmoid_cross_entropy_matches_numpy(dtype, weights, rng):
    N, K = 8, 3
    z = (rng.standard_normal((N, K)) * 3).astype(dtype)
    Y = rng.integers(0, 2, (N, K)).astype(dtype)
    w = _weights(weights, N, rng, dtype)
    wr = np.ones(N) if w.size == 0 else w.astype(np.float64)
    p = expit(z.astype(np.float64))
    ref_loss = np.sum(wr * -(Y * np.log(p) + (1 - Y) * np.log(1 - p)).sum(1)) / wr.sum()
    dz = np.empty_like(z)
    loss = ksoftmax.sigmoid_cross_entropy(z, Y, w, dz)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-5 if dtype == np.float32 else 1e-12)
    close(dz, (p - Y) * wr[:, None] / wr.sum(), dtype, 10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropies_finite_at_extreme_logits(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype)
    Y = np.array([[0, 1, 0], [1, 0, 0]], dtype)
    dz = np.empty_like(z)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = ksoftmax.softmax_cross_entropy(z, Y, EMPTY[dtype], dz)
    assert np.isfinite(loss) and np.all(np.isfinite(dz))
    np.testing.assert_allclose(loss, 2e4, rtol=1e-6)  # each row pays 2e4 for a confidently wrong answer
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = ksoftmax.sigmoid_cross_entropy(z, Y, EMPTY[dtype], dz)
    assert np.isfinite(loss) and np.all(np.isfinite(dz))
    # rows: 1e4 + 1e4 + log(2) (the z = 0 output) and 1e4 + 0 + 1e4; the loss is their mean
    np.testing.assert_allclose(loss, (4e4 + np.log(2)) / 2, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weights", ["none", "weighted"])
def test_squared_error_and_poisson_match_numpy(dtype, weights, rng):
    N, K = 7, 2
    z = rng.standard_normal((N, K)).astype(dtype)
    Y = rng.poisson(2.0, (N, K)).astype(dtype)
    w = _weights(weights, N, rng, dtype)
    wr = np.ones(N) if w.size == 0 else w.astype(np.float64)
    z64, Y64 = z.astype(np.float64), Y.astype(np.float64)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    dz = np.empty_like(z)
    loss = losses.squared_error(z, Y, w, dz)
    np.testing.assert_allclose(loss, np.sum(wr * 0.5 * ((z64 - Y64) ** 2).sum(1)) / wr.sum(), rtol=rtol)
    close(dz, (z64 - Y64) * wr[:, None] / wr.sum(), dtype, 10)
    loss = losses.poisson(z, Y, w, dz)
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(Y64 > 0, Y64 * np.log(Y64), 0.0)
    ref = np.sum(wr * (np.exp(z64) - Y64 * z64 + ylogy - Y64).sum(1)) / wr.sum()
    np.testing.assert_allclose(loss, ref, rtol=rtol)
    close(dz, (np.exp(z64) - Y64) * wr[:, None] / wr.sum(), dtype, 10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_mask_is_deterministic_and_has_the_right_rate(dtype):
    x = np.ones(20000, dtype)
    m1, m2, o1, o2 = (np.empty_like(x) for _ in range(4))
    dropout.dropout_forward(x, 42, 0.3, m1, o1)
    dropout.dropout_forward(x, 42, 0.3, m2, o2)
    np.testing.assert_array_equal(m1, m2)
    assert set(np.unique(m1)) == {dtype(0), dtype(1 / 0.7)}
    assert abs((m1 == 0).mean() - 0.3) < 0.015
    dropout.dropout_forward(x, 43, 0.3, m2, o2)
    assert not np.array_equal(m1, m2)
    dx = np.empty_like(x)
    dropout.dropout_backward(x * 2, m1, dx)
    close(dx, 2 * m1, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 7, 64, 1001, 115_003])
def test_all_finite_matches_numpy_wherever_the_bad_value_sits(dtype, n):
    """``checks.all_finite`` sums ``x - x`` with reassociation allowed (vectorised): NaN, inf or -inf anywhere,
    in the vector body or the scalar tail, must still be found, and the largest finite values must pass."""
    from fastnn.kernels import checks

    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 1e3).astype(dtype)
    if n:
        x[rng.integers(0, n)] = np.finfo(dtype).max
    assert checks.all_finite(x) == np.isfinite(x).all() == True  # noqa: E712
    for bad in (np.nan, np.inf, -np.inf):
        for where in {0, n // 2, n - 1} if n else ():
            y = x.copy()
            y[where] = bad
            assert checks.all_finite(y) == np.isfinite(y).all() == False, (bad, where)  # noqa: E712
