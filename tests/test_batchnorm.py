"""BatchNorm: kernels against NumPy references, the layer against central differences in float64, the running
statistics against PyTorch's update rule written out in NumPy, batch independence at inference, and the network's
flat state vector."""
import numpy as np
import pytest
from conftest import DTYPES

from fastnn import BatchNorm, Conv2D, Dense, GlobalAvgPool2D, ReLU, Sequential, SquaredError, Tanh
from fastnn.gradcheck import check_layer, numerical_gradient, relative_error
from fastnn.kernels import batchnorm as kbn

# Per-sample shapes: features (F,) and images (C, H, W); the kernels see (N, C, S).
LAYOUTS = {"features_5": (5,), "images_3x2x4": (3, 2, 4)}
TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def _axes(x):
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _bcast(v, x):
    return v.reshape(1, -1) if x.ndim == 2 else v.reshape(1, -1, 1, 1)


def _reference_forward(x, gamma, beta, eps):
    """Batch-norm forward in float64 NumPy: (out, xhat, mean, biased var)."""
    x = x.astype(np.float64)
    mean, var = x.mean(axis=_axes(x)), x.var(axis=_axes(x))
    xhat = (x - _bcast(mean, x)) / np.sqrt(_bcast(var, x) + eps)
    return _bcast(gamma, x) * xhat + _bcast(beta, x), xhat, mean, var


def _reference_backward(x, gamma, dout, eps):
    """The chain rule through mean and variance step by step (cs231n's staged form), float64."""
    x, dout = x.astype(np.float64), dout.astype(np.float64)
    ax = _axes(x)
    M = x.size // x.shape[1]
    mu = x.mean(axis=ax, keepdims=True)
    var = x.var(axis=ax, keepdims=True)
    istd = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) * istd
    dgamma, dbeta = (dout * xhat).sum(axis=ax), dout.sum(axis=ax)
    dxhat = dout * _bcast(gamma.astype(np.float64), x)
    dvar = np.sum(dxhat * (x - mu) * -0.5 * istd**3, axis=ax, keepdims=True)
    dmu = np.sum(-dxhat * istd, axis=ax, keepdims=True) + dvar * np.mean(-2.0 * (x - mu), axis=ax, keepdims=True)
    dx = dxhat * istd + dvar * 2.0 * (x - mu) / M + dmu / M
    return dx, dgamma, dbeta


def _built(shape, dtype, momentum=0.1, seed=0):
    """A built BatchNorm with random (not 1/0) gamma and beta."""
    layer = BatchNorm(momentum=momentum)
    layer.build(shape, dtype, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    layer.gamma[...] = rng.uniform(0.5, 2.0, layer.gamma.shape)
    layer.beta[...] = rng.standard_normal(layer.beta.shape)
    return layer


def _as3(a):
    return a.reshape(a.shape[0], a.shape[1], -1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_batchnorm_forward_train_kernel_matches_numpy(layout, dtype, rng):
    x = (rng.standard_normal((6, *LAYOUTS[layout])) * 3 + 1.5).astype(dtype)
    C = x.shape[1]
    gamma, beta = rng.uniform(0.5, 2, C).astype(dtype), rng.standard_normal(C).astype(dtype)
    rm, rv = rng.standard_normal(C).astype(dtype), rng.uniform(0.5, 2, C).astype(dtype)
    rm0, rv0 = rm.astype(np.float64), rv.astype(np.float64)
    mean, var, inv_std = (np.empty(C, dtype) for _ in range(3))
    xhat, out = np.empty_like(x), np.empty_like(x)
    kbn.batchnorm_forward_train(_as3(x), gamma, beta, 1e-5, 0.3, rm, rv, mean, var, inv_std, _as3(xhat), _as3(out))
    ref_out, ref_xhat, ref_mean, ref_var = _reference_forward(x, gamma, beta, 1e-5)
    M = x.size // C
    for ours, ref in [(out, ref_out), (xhat, ref_xhat), (mean, ref_mean), (var, ref_var),
                      (inv_std, 1 / np.sqrt(ref_var + 1e-5)), (rm, 0.7 * rm0 + 0.3 * ref_mean),
                      (rv, 0.7 * rv0 + 0.3 * ref_var * M / (M - 1))]:
        assert ours.dtype == dtype
        np.testing.assert_allclose(ours, ref, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_batchnorm_forward_infer_kernel_matches_numpy(layout, dtype, rng):
    x = rng.standard_normal((5, *LAYOUTS[layout])).astype(dtype)
    C = x.shape[1]
    gamma, beta = rng.uniform(0.5, 2, C).astype(dtype), rng.standard_normal(C).astype(dtype)
    rm, rv = rng.standard_normal(C).astype(dtype), rng.uniform(0.5, 2, C).astype(dtype)
    out = np.empty_like(x)
    kbn.batchnorm_forward_infer(_as3(x), gamma, beta, rm, rv, 1e-3, _as3(out))
    x64 = x.astype(np.float64)
    ref = _bcast(gamma, x) * (x64 - _bcast(rm, x)) / np.sqrt(_bcast(rv.astype(np.float64), x) + 1e-3) + _bcast(beta, x)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_batchnorm_backward_kernel_matches_numpy(layout, dtype, rng):
    layer = _built(LAYOUTS[layout], dtype)
    x = (rng.standard_normal((6, *LAYOUTS[layout])) * 2 - 1).astype(dtype)
    dout = rng.standard_normal(x.shape).astype(dtype)
    dout_before = dout.copy()
    layer.forward(x, training=True)
    dx = layer.backward(dout)
    ref_dx, ref_dgamma, ref_dbeta = _reference_backward(x, layer.gamma, dout, layer.eps)
    np.testing.assert_array_equal(dout, dout_before)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    for ours, ref in [(dx, ref_dx), (layer.dgamma, ref_dgamma), (layer.dbeta, ref_dbeta)]:
        assert ours.dtype == dtype
        np.testing.assert_allclose(ours, ref, **tol)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_batchnorm_gradcheck_training_mode(layout):
    shape = LAYOUTS[layout]
    x = np.random.default_rng(7).standard_normal((4, *shape)) * 2 + 0.5
    errors = check_layer(_built(shape, np.float64), shape, x=x)
    assert set(errors) == {"x", "param0", "param1"}  # dx, dgamma, dbeta
    assert max(errors.values()) < 1e-6, errors


def test_batchnorm_gradcheck_images_one_sample_per_batch():
    """N = 1 is allowed for images with H*W > 1: the statistics run over the plane."""
    x = np.random.default_rng(8).standard_normal((1, 2, 3, 3))
    errors = check_layer(_built((2, 3, 3), np.float64), (2, 3, 3), x=x)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_batchnorm_running_stats_follow_pytorch_rule_over_steps(layout, dtype):
    shape = LAYOUTS[layout]
    layer = _built(shape, dtype, momentum=0.25)
    rng = np.random.default_rng(3)
    C = shape[0]
    rm, rv = np.zeros(C), np.ones(C)
    for N in (4, 7, 2):
        x = (rng.standard_normal((N, *shape)) * 1.7 + 0.8).astype(dtype)
        layer.forward(x, training=True)
        x64 = x.astype(np.float64)
        rm = 0.75 * rm + 0.25 * x64.mean(axis=_axes(x))
        rv = 0.75 * rv + 0.25 * x64.var(axis=_axes(x), ddof=1)  # unbiased batch variance
    tol = dict(rtol=1e-5) if dtype == np.float32 else dict(rtol=1e-12)
    np.testing.assert_allclose(layer.running_mean, rm, **tol)
    np.testing.assert_allclose(layer.running_var, rv, **tol)
    np.testing.assert_allclose(layer.batch_var, x64.var(axis=_axes(x)), **tol)  # biased for normalisation


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_batchnorm_row_alone_equals_row_in_batch_bitwise(layout, dtype):
    shape = LAYOUTS[layout]
    layer = _built(shape, dtype, momentum=0.5)
    rng = np.random.default_rng(4)
    for _ in range(3):  # running statistics away from their 0 / 1 start
        layer.forward(rng.standard_normal((8, *shape)) * 2 + 1, training=True)
    X = (rng.standard_normal((37, *shape)) * 3).astype(dtype)
    batch = layer.forward(X)
    assert batch.dtype == dtype
    for i in (0, 17, 36):
        np.testing.assert_array_equal(layer.forward(X[i : i + 1])[0], batch[i])
    np.testing.assert_array_equal(layer.forward(X[5:13]), batch[5:13])


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_batchnorm_inference_uses_running_stats_and_caches_nothing(layout):
    shape = LAYOUTS[layout]
    layer = _built(shape, np.float64)
    layer.running_mean[...] = np.arange(shape[0]) - 1.0
    layer.running_var[...] = np.arange(shape[0]) + 0.5
    x = np.random.default_rng(5).standard_normal((3, *shape))
    out = layer.forward(x)
    ref = _bcast(layer.gamma, x) * (x - _bcast(layer.running_mean, x)) / np.sqrt(
        _bcast(layer.running_var, x) + layer.eps
    ) + _bcast(layer.beta, x)
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    np.testing.assert_array_equal(layer.running_mean, np.arange(shape[0]) - 1.0)  # inference leaves state alone
    with pytest.raises(RuntimeError, match="forward"):
        layer.backward(np.ones_like(x))


@pytest.mark.parametrize("shape", [(5,), (3, 1, 1)], ids=["features_5", "images_3x1x1"])
def test_batchnorm_training_batch_of_one_value_per_channel_raises(shape):
    layer = _built(shape, np.float64)
    with pytest.raises(ValueError, match="at least 2 samples"):
        layer.forward(np.ones((1, *shape)), training=True)
    np.testing.assert_array_equal(layer.running_var, np.ones(shape[0]))  # nothing updated
    assert np.all(np.isfinite(layer.forward(np.ones((1, *shape)))))  # inference on one row is fine


def test_batchnorm_empty_training_batch_leaves_running_stats():
    layer = _built((4,), np.float64)
    out = layer.forward(np.empty((0, 4)), training=True)
    assert out.shape == (0, 4)
    np.testing.assert_array_equal(layer.running_mean, np.zeros(4))
    np.testing.assert_array_equal(layer.running_var, np.ones(4))
    assert layer.backward(np.empty((0, 4))).shape == (0, 4)
    np.testing.assert_array_equal(layer.dgamma, np.zeros(4))


def test_batchnorm_as_first_layer_skips_input_gradient():
    layer = _built((3,), np.float64)
    layer.input_grad = False
    x = np.random.default_rng(6).standard_normal((5, 3))
    dout = np.random.default_rng(7).standard_normal((5, 3))
    layer.forward(x, training=True)
    assert layer.backward(dout) is None
    _, dgamma, dbeta = _reference_backward(x, layer.gamma, dout, layer.eps)
    np.testing.assert_allclose(layer.dgamma, dgamma, rtol=1e-10)
    np.testing.assert_allclose(layer.dbeta, dbeta, rtol=1e-10)


def test_batchnorm_bad_arguments_raise_clear_errors():
    for momentum in (-0.1, 1.5, "0.1", True):
        with pytest.raises(ValueError, match="momentum"):
            BatchNorm(momentum=momentum)
    for eps in (0.0, -1e-5, None):
        with pytest.raises(ValueError, match="eps"):
            BatchNorm(eps=eps)
    with pytest.raises(ValueError, match=r"\(N, F\) or images \(N, C, H, W\)"):
        BatchNorm().build((3, 4), np.float64)


def test_batchnorm_params_state_and_penalty_flags():
    layer = BatchNorm()
    layer.build((2, 3, 3), np.float32)
    assert [p.shape for p in layer.params] == [(2,), (2,)] and layer.penalized == [False, False]
    np.testing.assert_array_equal(layer.gamma, [1, 1])
    np.testing.assert_array_equal(layer.beta, [0, 0])
    np.testing.assert_array_equal(layer.running_mean, [0, 0])
    np.testing.assert_array_equal(layer.running_var, [1, 1])
    assert all(a.dtype == np.float32 for a in layer.params + layer.grads + layer.state)
    assert repr(layer) == "BatchNorm(momentum=0.1, eps=1e-05)"


def test_sequential_gathers_layer_state_into_flat_state():
    net = Sequential([Dense(4), BatchNorm(), ReLU(), Dense(3), BatchNorm(momentum=0.5), Dense(1)], SquaredError())
    net.build((2,), np.float64, random_state=0)
    bn1, bn2 = net.layers[1], net.layers[4]
    assert net.flat_state.shape == (2 * 4 + 2 * 3,)
    np.testing.assert_array_equal(net.flat_state, [0] * 4 + [1] * 4 + [0] * 3 + [1] * 3)
    for a in bn1.state + bn2.state:
        assert np.shares_memory(a, net.flat_state)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 2)), rng.standard_normal(6)
    net.train_step(X, y, l2=0.1)
    np.testing.assert_array_equal(net.flat_state[:4], bn1.running_mean)  # training updates the flat vector
    assert not np.array_equal(net.flat_state[:4], np.zeros(4))
    net.flat_state[...] = np.arange(14.0)  # restoring is one copy; the layers see it
    np.testing.assert_array_equal(bn1.running_var, [4, 5, 6, 7])
    np.testing.assert_array_equal(bn2.running_var, [11, 12, 13])
    # L2 covers the Dense weights only, not gamma
    expected = 0.5 * 0.1 * sum(float(np.sum(layer.W**2)) for layer in net.layers if isinstance(layer, Dense))
    assert net.penalty(0.1) == pytest.approx(expected, rel=1e-12)


def test_sequential_without_state_has_empty_flat_state_and_bind_state_keeps_values():
    net = Sequential([Dense(2), ReLU(), Dense(1)], SquaredError())
    net.build((3,), np.float32, random_state=0)
    assert net.flat_state.shape == (0,) and net.flat_state.dtype == np.float32
    layer = _built((2,), np.float64)
    layer.running_mean[...] = [3.0, 4.0]
    target = [np.zeros(2), np.zeros(2)]
    layer.bind_state(target)
    assert layer.running_mean is target[0] and layer.state[1] is target[1]
    np.testing.assert_array_equal(target[0], [3.0, 4.0])
    np.testing.assert_array_equal(target[1], [1.0, 1.0])


def _layouts(x):
    """x as Fortran-ordered, strided, reversed-view, read-only and integer arrays (same numbers: x is integral)."""
    big = np.zeros((2 * x.shape[0], *x.shape[1:]))
    big[::2] = x
    read_only = x.copy()
    read_only.flags.writeable = False
    return {"F": np.asfortranarray(x), "strided": big[::2], "reversed": x[::-1].copy()[::-1],
            "read_only": read_only, "int64": x.astype(np.int64)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_batchnorm_any_input_layout_and_dtype_equals_c_contiguous(layout, dtype):
    shape = LAYOUTS[layout]
    x = np.random.default_rng(9).integers(-4, 5, (6, *shape)).astype(np.float64)
    dout = np.random.default_rng(10).integers(-3, 4, x.shape).astype(np.float64)
    ref = _built(shape, dtype)
    ref_train = ref.forward(x.astype(dtype), training=True).copy()
    ref_dx = ref.backward(dout.astype(dtype)).copy()
    ref_infer = ref.forward(x.astype(dtype))
    for name, xv in _layouts(x).items():
        layer = _built(shape, dtype)
        before = np.array(xv, copy=True)
        np.testing.assert_array_equal(layer.forward(xv, training=True), ref_train, err_msg=name)
        np.testing.assert_array_equal(layer.backward(np.asfortranarray(dout)), ref_dx, err_msg=name)
        np.testing.assert_array_equal(layer.forward(xv), ref_infer, err_msg=name)
        np.testing.assert_array_equal(xv, before, err_msg=f"{name}: input written")


@pytest.mark.parametrize("stack", ["dense_bn_tanh_dense", "conv_bn_tanh_gap_dense"])
def test_batchnorm_in_a_network_gradcheck_training_mode(stack):
    """Every flat gradient of a whole stack with BatchNorm, L2 included, against central differences of the
    training-mode objective (the running-statistics updates each evaluation makes do not change it)."""
    if stack == "dense_bn_tanh_dense":
        layers, shape = [Dense(4), BatchNorm(), Tanh(), Dense(2)], (3,)
    else:
        layers, shape = [Conv2D(2, 3, padding=1), BatchNorm(), Tanh(), GlobalAvgPool2D(), Dense(2)], (1, 4, 4)
    net = Sequential(layers, SquaredError())
    net.build(shape, np.float64, random_state=0)
    rng = np.random.default_rng(1)
    net.layers[1].gamma[...] = rng.uniform(0.5, 2.0, net.layers[1].gamma.shape)
    X, y = rng.standard_normal((5, *shape)), rng.standard_normal((5, 2))
    net.loss_and_grad(X, y, l2=0.3)
    analytic = net.flat_grads.copy()

    def objective():
        return net.loss.forward(net.forward(X, training=True), y) + net.penalty(0.3)

    numeric = numerical_gradient(objective, net.flat_params)
    assert relative_error(analytic, numeric) < 1e-6
