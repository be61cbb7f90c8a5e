"""Max / average pooling kernels against NumPy references (ties, overlapping windows, NaN), and MaxPool2D /
AvgPool2D against central differences (float64) and their contract."""
import numpy as np
import pytest

from fastnn import layers as L
from fastnn.gradcheck import check_layer
from fastnn.kernels import pool

DTYPES = [np.float32, np.float64]
DTYPE_PARAMS = [pytest.param(d, id=np.dtype(d).name) for d in DTYPES]

# (N, C, H, W, kh, kw, sh, sw)
GEOMETRIES = {
    "h4w4_k2_s2": (2, 2, 4, 4, 2, 2, 2, 2),
    "h5w7_k2_s2_remainder": (1, 3, 5, 7, 2, 2, 2, 2),
    "h6w5_k3_s2_overlap": (2, 2, 6, 5, 3, 3, 2, 2),
    "h5w6_k2x3_s1_overlap": (2, 1, 5, 6, 2, 3, 1, 1),
    "h7w4_k3x1_s3x1": (1, 2, 7, 4, 3, 1, 3, 1),
    "h3w3_k3_s1_global": (2, 2, 3, 3, 3, 3, 1, 1),
}
GEOMETRY_PARAMS = [pytest.param(g, id=name) for name, g in GEOMETRIES.items()]


def windows(x, kh, kw, sh, sw):
    """Yield ``(oh, ow, window)`` with ``window = x[:, :, oh*sh : oh*sh + kh, ow*sw : ow*sw + kw]``."""
    H, W = x.shape[2:]
    for oh in range((H - kh) // sh + 1):
        for ow in range((W - kw) // sw + 1):
            yield oh, ow, x[:, :, oh * sh : oh * sh + kh, ow * sw : ow * sw + kw]


def maxpool_ref(x, kh, kw, sh, sw):
    """Reference max pooling; argmax = flat index in the (H, W) plane of the first maximum (row-major)."""
    N, C, H, W = x.shape
    Ho, Wo = (H - kh) // sh + 1, (W - kw) // sw + 1
    out, argmax = np.empty((N, C, Ho, Wo), x.dtype), np.empty((N, C, Ho, Wo), np.int64)
    for oh, ow, win in windows(x, kh, kw, sh, sw):
        flat = win.reshape(N, C, -1)
        first = np.argmax(flat, axis=2)  # NumPy's argmax returns the first occurrence of the maximum
        out[:, :, oh, ow] = np.take_along_axis(flat, first[..., None], 2)[..., 0]
        argmax[:, :, oh, ow] = (oh * sh + first // kw) * W + ow * sw + first % kw
    return out, argmax


def maxpool_backward_ref(dout, argmax, x_shape):
    dx = np.zeros(x_shape)
    N, C, H, W = x_shape
    for n, c, oh, ow in np.ndindex(*dout.shape):
        idx = argmax[n, c, oh, ow]
        dx[n, c, idx // W, idx % W] += dout[n, c, oh, ow]
    return dx


def avgpool_ref(x, kh, kw, sh, sw):
    N, C, H, W = x.shape
    out = np.empty((N, C, (H - kh) // sh + 1, (W - kw) // sw + 1))
    for oh, ow, win in windows(x.astype(np.float64), kh, kw, sh, sw):
        out[:, :, oh, ow] = win.mean(axis=(2, 3))
    return out


def avgpool_backward_ref(dout, kh, kw, sh, sw, x_shape):
    dx = np.zeros(x_shape)
    for n, c, oh, ow in np.ndindex(*dout.shape):
        dx[n, c, oh * sh : oh * sh + kh, ow * sw : ow * sw + kw] += dout[n, c, oh, ow] / (kh * kw)
    return dx


def run_maxpool(x, kh, kw, sh, sw):
    N, C, H, W = x.shape
    shape = (N, C, (H - kh) // sh + 1, (W - kw) // sw + 1)
    out, argmax = np.empty(shape, x.dtype), np.empty(shape, np.int64)
    pool.maxpool_forward(x, kh, kw, sh, sw, out, argmax)
    return out, argmax


# ---------------------------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
@pytest.mark.parametrize("geometry", GEOMETRY_PARAMS)
def test_maxpool_matches_numpy(geometry, dtype):
    N, C, H, W, kh, kw, sh, sw = geometry
    x = np.random.default_rng(0).standard_normal((N, C, H, W)).astype(dtype)
    out, argmax = run_maxpool(x, kh, kw, sh, sw)
    out_ref, argmax_ref = maxpool_ref(x, kh, kw, sh, sw)
    np.testing.assert_array_equal(out, out_ref)
    np.testing.assert_array_equal(argmax, argmax_ref)
    dout = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    dx = np.full(x.shape, np.nan, dtype)  # backward must zero it first
    pool.maxpool_backward(dout, argmax, dx)
    np.testing.assert_allclose(dx, maxpool_backward_ref(dout, argmax, x.shape), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
@pytest.mark.parametrize("geometry", GEOMETRY_PARAMS)
def test_maxpool_ties_first_maximum_wins(geometry, dtype):
    """Inputs drawn from {0, 1, 2}: most windows hold several maxima; the first (row-major) one wins."""
    N, C, H, W, kh, kw, sh, sw = geometry
    x = np.random.default_rng(2).integers(0, 3, (N, C, H, W)).astype(dtype)
    out, argmax = run_maxpool(x, kh, kw, sh, sw)
    out_ref, argmax_ref = maxpool_ref(x, kh, kw, sh, sw)
    np.testing.assert_array_equal(out, out_ref)
    np.testing.assert_array_equal(argmax, argmax_ref)


SHAPES_2X2 = [(2, 2, 4, 4), (1, 3, 5, 7), (2, 1, 2, 3), (1, 2, 7, 2), (1, 1, 4, 70)]
SHAPE_IDS_2X2 = ["h4w4", "h5w7_remainder", "h2w3_remainder", "h7w2_remainder", "h4w70_long_rows"]


def run_maxpool_2x2(x):
    N, C, H, W = x.shape
    out, code = np.empty((N, C, H // 2, W // 2), x.dtype), np.empty((N, C, H // 2, W // 2), np.int8)
    pool.maxpool_forward_2x2(x, out, code)
    return out, code


def code_ref(argmax, W):
    """Window position ``2*i + j`` of the winner from the reference's flat index (2x2 windows, stride 2)."""
    oh, ow = np.indices(argmax.shape[2:])
    return 2 * (argmax // W - 2 * oh) + (argmax % W - 2 * ow)


@pytest.mark.parametrize("values", ["normal", "ties"])
@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
@pytest.mark.parametrize("shape", SHAPES_2X2, ids=SHAPE_IDS_2X2)
def test_maxpool_2x2_matches_numpy(shape, dtype, values):
    """The vectorised 2x2 / stride-2 pair: maxima and winners as the reference (ties: the first maximum, from
    inputs in {0, 1, 2}); backward writes every cell of dx, including uncovered last rows/columns."""
    rng = np.random.default_rng(3)
    x = (rng.integers(0, 3, shape) if values == "ties" else rng.standard_normal(shape)).astype(dtype)
    out, code = run_maxpool_2x2(x)
    out_ref, argmax_ref = maxpool_ref(x, 2, 2, 2, 2)
    np.testing.assert_array_equal(out, out_ref)
    np.testing.assert_array_equal(code, code_ref(argmax_ref, shape[3]))
    dout = np.random.default_rng(4).standard_normal(out.shape).astype(dtype)
    dx = np.full(x.shape, np.nan, dtype)
    pool.maxpool_backward_2x2(dout, code, dx)
    np.testing.assert_array_equal(dx, maxpool_backward_ref(dout, argmax_ref, x.shape).astype(dtype))


def test_maxpool_2x2_nan_wins_and_the_last_nan_is_recorded():
    x = np.zeros((1, 1, 2, 4))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan  # first window: NaNs at positions 1 and 2
    x[0, 0, 1, 1] = 7.0
    x[0, 0, 1, 2] = np.nan  # second window: the only NaN, at position 2
    out, code = run_maxpool_2x2(x)
    assert np.isnan(out).all() and code.tolist() == [[[[2, 2]]]]


def test_maxpool_all_equal_window_sends_gradient_to_first_cell():
    x = np.ones((1, 1, 2, 2))
    out, argmax = run_maxpool(x, 2, 2, 2, 2)
    dx = np.empty_like(x)
    pool.maxpool_backward(np.full(out.shape, 3.0), argmax, dx)
    np.testing.assert_array_equal(dx[0, 0], [[3.0, 0.0], [0.0, 0.0]])


def test_maxpool_overlapping_windows_accumulate_at_a_shared_maximum():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0  # the maximum of all four 2x2 windows at stride 1
    out, argmax = run_maxpool(x, 2, 2, 1, 1)
    dx = np.empty_like(x)
    pool.maxpool_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), argmax, dx)
    assert dx[0, 0, 1, 1] == 10.0 and np.count_nonzero(dx) == 1


def test_maxpool_propagates_nan():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    out, argmax = run_maxpool(x, 2, 2, 2, 2)
    assert np.isnan(out[0, 0, 0, 0]) and argmax[0, 0, 0, 0] == 1  # the only NaN of its window
    assert out[0, 0, 1, 1] == 15.0


@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
@pytest.mark.parametrize("geometry", GEOMETRY_PARAMS)
def test_avgpool_matches_numpy(geometry, dtype):
    N, C, H, W, kh, kw, sh, sw = geometry
    x = np.random.default_rng(0).standard_normal((N, C, H, W)).astype(dtype)
    out = np.empty((N, C, (H - kh) // sh + 1, (W - kw) // sw + 1), dtype)
    pool.avgpool_forward(x, kh, kw, sh, sw, out)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out, avgpool_ref(x, kh, kw, sh, sw), **tol)
    dout = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    dx = np.full(x.shape, np.nan, dtype)
    pool.avgpool_backward(dout, kh, kw, sh, sw, dx)
    np.testing.assert_allclose(dx, avgpool_backward_ref(dout, kh, kw, sh, sw, x.shape), **tol)


# ---------------------------------------------------------------------------------------------- layers
LAYER_CONFIGS = {
    "pool2_stride_default": dict(pool_size=2),
    "pool3_stride2_overlap": dict(pool_size=3, stride=2),
    "pool2x3_stride1": dict(pool_size=(2, 3), stride=1),
}


@pytest.mark.parametrize("config", LAYER_CONFIGS.values(), ids=LAYER_CONFIGS.keys())
@pytest.mark.parametrize("cls", [L.MaxPool2D, L.AvgPool2D], ids=["maxpool2d", "avgpool2d"])
def test_pool2d_gradcheck(cls, config):
    errors = check_layer(cls(**config), (2, 6, 5), batch_size=2)
    assert set(errors) == {"x"} and errors["x"] < 1e-6, errors


@pytest.mark.parametrize("cls", [L.MaxPool2D, L.AvgPool2D], ids=["maxpool2d", "avgpool2d"])
def test_pool2d_output_shape_and_inference_contract(cls):
    layer = cls(2)
    assert layer.stride == (2, 2)
    assert layer.build((3, 7, 4), np.float32, np.random.default_rng(0)) == (3, 3, 2)
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 4))
    first, second = layer.forward(x), layer.forward(x)
    assert first is not second and first.dtype == np.float32 and first.shape == (2, 3, 3, 2)
    with pytest.raises(RuntimeError, match="forward"):
        layer.backward(np.ones_like(first))
    dout = np.ones_like(layer.forward(x, training=True))
    dout_before = dout.copy()
    assert layer.backward(dout).shape == x.shape
    np.testing.assert_array_equal(dout, dout_before)


@pytest.mark.parametrize("cls", [L.MaxPool2D, L.AvgPool2D], ids=["maxpool2d", "avgpool2d"])
@pytest.mark.parametrize(
    "kwargs", [dict(pool_size=0), dict(pool_size=(2, 2, 2)), dict(pool_size=2, stride=0), dict(pool_size=1.5)],
    ids=["pool0", "pool_triple", "stride0", "pool_float"],
)
def test_pool2d_rejects_bad_arguments(cls, kwargs):
    with pytest.raises(ValueError, match="pool_size|stride"):
        cls(**kwargs)


def test_pool2d_build_rejects_window_larger_than_input():
    with pytest.raises(ValueError, match="larger than"):
        L.MaxPool2D(3).build((1, 2, 5), np.float64)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        L.AvgPool2D(2).build((4, 4), np.float64)


@pytest.mark.parametrize("pool_size", [2, 3], ids=["pool2_unrolled", "pool3_general"])
def test_maxpool_nan_wins_over_numbers_and_the_last_nan_is_recorded(pool_size):
    x = np.zeros((1, 1, pool_size, pool_size))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan
    x[0, 0, 1, 1] = 7.0
    out, argmax = run_maxpool(x, pool_size, pool_size, 1, 1)
    assert np.isnan(out[0, 0, 0, 0]) and argmax[0, 0, 0, 0] == pool_size  # cell (1, 0)
