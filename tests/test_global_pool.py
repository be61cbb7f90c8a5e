"""GlobalAvgPool2D: kernels against NumPy, the layer against central differences in float64."""
import numpy as np
import pytest
from conftest import DTYPES, TOL

import fastnn
from fastnn import layers as L
from fastnn.gradcheck import check_layer
from fastnn.kernels import global_pool as kgp


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 2, 5, 4), (1, 1, 1, 1), (0, 2, 3, 3)], ids=["3x2x5x4", "1x1x1x1", "empty"])
def test_global_avgpool_kernels_match_numpy(shape, dtype, rng):
    N, C, H, W = shape
    x = rng.standard_normal(shape).astype(dtype)
    out = np.empty((N, C), dtype)
    kgp.global_avgpool_forward(x.reshape(N, C, H * W), out)
    np.testing.assert_allclose(out, x.astype(np.float64).mean(axis=(2, 3)), **TOL[dtype])
    dout = rng.standard_normal((N, C)).astype(dtype)
    dx = np.full(shape, np.nan, dtype)
    kgp.global_avgpool_backward(dout, dx.reshape(N, C, H * W))
    ref = np.broadcast_to(dout.astype(np.float64)[:, :, None, None] / (H * W), shape)
    np.testing.assert_allclose(dx, ref, **TOL[dtype])


@pytest.mark.parametrize("shape", [(2, 3, 4), (1, 1, 5), (3, 1, 1)], ids=["2x3x4", "1x1x5", "3x1x1"])
def test_global_avgpool_gradcheck(shape):
    errors = check_layer(L.GlobalAvgPool2D(), shape, batch_size=3)
    assert errors["x"] < 1e-6, errors


@pytest.mark.parametrize("dtype", DTYPES)
def test_global_avgpool_layer_shapes_dtype_and_inference_equals_training(dtype):
    layer = fastnn.GlobalAvgPool2D()
    assert layer.build((3, 4, 5), dtype) == (3,)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    out = layer.forward(x)
    assert out.dtype == dtype and out.shape == (2, 3)
    np.testing.assert_array_equal(layer.forward(x, training=True), out)
    dx = layer.backward(np.ones((2, 3)))
    assert dx.shape == (2, 3, 4, 5) and dx.dtype == dtype
    np.testing.assert_allclose(dx, 1 / 20, rtol=1e-6)


def test_global_avgpool_rejects_flat_input():
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        L.GlobalAvgPool2D().build((12,), np.float64)


def test_global_avgpool_in_a_network_gradient():
    """Conv -> ReLU -> GlobalAvgPool2D -> Dense: the whole stack's input gradient against finite differences."""
    net = fastnn.Sequential(
        [L.Conv2D(2, 3, padding=1), L.ReLU(), L.GlobalAvgPool2D(), L.Dense(2)], fastnn.SquaredError()
    )
    net.build((1, 4, 4), np.float64, random_state=0)
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((3, 1, 4, 4)), rng.standard_normal((3, 2))
    net.loss_and_grad(X, y)
    analytic = net.flat_grads.copy()
    numeric = fastnn.gradcheck.numerical_gradient(lambda: net.loss.forward(net.forward(X), y), net.flat_params)
    assert fastnn.gradcheck.relative_error(analytic, numeric) < 1e-6
