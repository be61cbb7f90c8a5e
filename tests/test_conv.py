"""Convolution: the channels-last and stride-1 kernels against naive NumPy loops; Conv2D (both paths, chunk
boundaries) against central differences (float64) and its contract."""
import numpy as np
import pytest

from fastnn import layers as L
from fastnn.gradcheck import check_layer, numerical_gradient, relative_error
from fastnn.kernels import conv

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}

# (N, C, H, W, F, kh, kw, sh, sw, ph, pw): strides, paddings, (non-)square kernels and inputs, channels.
GEOMETRIES = {
    "c1_h5w5_k3x3_s1_p0": (2, 1, 5, 5, 2, 3, 3, 1, 1, 0, 0),
    "c3_h7w5_k3x3_s1_p1": (2, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1),
    "c2_h6w9_k2x3_s2x1_p0x2": (2, 2, 6, 9, 3, 2, 3, 2, 1, 0, 2),
    "c1_h5w5_k5x5_s2_p2": (1, 1, 5, 5, 2, 5, 5, 2, 2, 2, 2),
    "c2_h8w7_k3x1_s3x2_p1x0": (3, 2, 8, 7, 2, 3, 1, 3, 2, 1, 0),
    "c2_h4w6_k1x1_s1_p0": (2, 2, 4, 6, 3, 1, 1, 1, 1, 0, 0),
    "c1_h3w4_k3x3_s1_p3": (1, 1, 3, 4, 2, 3, 3, 1, 1, 3, 3),
    "c2_h9w9_k4x4_s3_p1": (2, 2, 9, 9, 2, 4, 4, 3, 3, 1, 1),
    "c2_h8w8_k3x3_s1_p1": (3, 2, 8, 8, 3, 3, 3, 1, 1, 1, 1),  # P = 64: the plane-by-plane transposes
}
GEOMETRY_PARAMS = [pytest.param(g, id=name) for name, g in GEOMETRIES.items()]
DTYPE_PARAMS = [pytest.param(d, id=np.dtype(d).name) for d in DTYPES]


# ---------------------------------------------------------------------------------------------- references
def pad(x, ph, pw):
    N, C, H, W = x.shape
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), x.dtype)
    xp[:, :, ph : ph + H, pw : pw + W] = x
    return xp


def conv_ref(x, W, b, sh, sw, ph, pw):
    """Naive loop convolution (cross-correlation) in float64."""
    N, C, H, Wd = x.shape
    F, _, kh, kw = W.shape
    xp = pad(x.astype(np.float64), ph, pw)
    Ho, Wo = conv.out_size(H, kh, sh, ph), conv.out_size(Wd, kw, sw, pw)
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for oh in range(Ho):
                for ow in range(Wo):
                    window = xp[n, :, oh * sh : oh * sh + kh, ow * sw : ow * sw + kw]
                    out[n, f, oh, ow] = np.sum(window * W[f]) + b[f]
    return out


def conv_backward_ref(x, W, dout, sh, sw, ph, pw):
    """Naive loop gradients ``dW, db, dx`` of ``sum(conv(x, W, b) * dout)`` in float64."""
    N, C, H, Wd = x.shape
    F, _, kh, kw = W.shape
    xp = pad(x.astype(np.float64), ph, pw)
    dxp = np.zeros_like(xp)
    dW = np.zeros(W.shape)
    Ho, Wo = dout.shape[2:]
    for n in range(N):
        for f in range(F):
            for oh in range(Ho):
                for ow in range(Wo):
                    g = float(dout[n, f, oh, ow])
                    hs, ws = slice(oh * sh, oh * sh + kh), slice(ow * sw, ow * sw + kw)
                    dW[f] += g * xp[n, :, hs, ws]
                    dxp[n, :, hs, ws] += g * W[f]
    return dW, dout.sum(axis=(0, 2, 3), dtype=np.float64), dxp[:, :, ph : ph + H, pw : pw + Wd]


def setup(geometry, dtype, seed=0):
    N, C, H, W, F, kh, kw, sh, sw, ph, pw = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    Wt = rng.standard_normal((F, C, kh, kw)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    Ho, Wo = conv.out_size(H, kh, sh, ph), conv.out_size(W, kw, sw, pw)
    return x, Wt, b, (sh, sw, ph, pw), (Ho, Wo)


# ---------------------------------------------------------------------------------------------- channels last
@pytest.mark.parametrize(
    "size, k, s, p, expected", [(28, 3, 1, 1, 28), (28, 2, 2, 0, 14), (5, 5, 2, 2, 3), (7, 3, 3, 1, 3), (2, 3, 1, 0, 0)]
)
def test_out_size_formula(size, k, s, p, expected):
    assert conv.out_size(size, k, s, p) == expected


@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
@pytest.mark.parametrize("geometry", GEOMETRY_PARAMS)
def test_pad_nhwc_matches_numpy_pad(geometry, dtype):
    x, _, _, (_, _, ph, pw), _ = setup(geometry, dtype)
    N, C, H, W = x.shape
    xp = np.full((N, H + 2 * ph, W + 2 * pw, C), np.nan, dtype)  # every entry must be written
    conv.pad_nhwc(x, ph, pw, xp)
    np.testing.assert_array_equal(xp, pad(x, ph, pw).transpose(0, 2, 3, 1))


@pytest.mark.parametrize("geometry", GEOMETRY_PARAMS)
def test_weights_cl_orders_columns_i_j_c_and_grads_from_cl_orders_them_back(geometry):
    _, Wt, _, _, _ = setup(geometry, np.float64)
    F, C, kh, kw = Wt.shape
    Wr = np.full((F, kh * kw * C), np.nan)
    conv.weights_cl(Wt, Wr)
    for f, c, i, j in np.ndindex(Wt.shape):
        assert Wr[f, (i * kw + j) * C + c] == Wt[f, c, i, j]
    back = conv.grads_from_cl(Wr, np.full(Wt.shape, np.nan))
    np.testing.assert_array_equal(back, Wt)


def run_cl(x, Wt, b, strides_pads, nc, dout=None, with_dx=True, transposed=False):
    """The channels-last kernels (``transposed``: with transposed columns, ``conv_forward_clt``) in chunks of ``nc``
    samples, with NaN-filled work buffers (every value they read must have been written) and zeroed gradients (they
    accumulate into them)."""
    N, C, H, Wd = x.shape
    F, _, kh, kw = Wt.shape
    sh, sw, ph, pw = strides_pads
    Ho, Wo = conv.out_size(H, kh, sh, ph), conv.out_size(Wd, kw, sw, pw)
    K, m = C * kh * kw, min(nc, N) * Ho * Wo

    def nan(*shape):
        return np.full(shape, np.nan, x.dtype)

    xp = nan(N, H + 2 * ph, Wd + 2 * pw, C)
    conv.pad_nhwc(x, ph, pw, xp)
    cols, gemm, out = nan(m * K), nan(m * F), nan(N, F, Ho, Wo)
    Wr = conv.weights_cl(Wt, nan(F, K))
    if transposed:
        conv.conv_forward_clt(xp, Wr, b, kh, kw, nc, cols, gemm, out)
    else:
        conv.conv_forward_cl(xp, Wr, b, kh, kw, sh, sw, nc, cols, gemm, out)
    if dout is None:
        return out
    dcols = nan(m * K) if with_dx else np.empty(0, x.dtype)
    dxp = nan(H + 2 * ph, Wd + 2 * pw, C) if with_dx else np.empty((0, 0, 0), x.dtype)
    dx = nan(*x.shape) if with_dx else np.empty((0, 0, 0, 0), x.dtype)
    dWr, db = np.zeros((F, K), x.dtype), np.zeros(b.shape, x.dtype)
    if transposed:
        conv.conv_backward_clt(dout, xp, kh, kw, nc, cols, gemm, nan(F, K), dWr, db)
        if with_dx:
            conv.conv_backward_data_clt(dout, Wr, kh, kw, ph, pw, nc, nan(m * F), dcols, dxp, dx)
    else:
        conv.conv_backward_cl(dout, xp, Wr, kh, kw, sh, sw, ph, pw, nc, cols, gemm, dcols, dxp, nan(F, K), dWr, db, dx)
    return conv.grads_from_cl(dWr, nan(*Wt.shape)), db, dx


CHUNK_PARAMS = [pytest.param(nc, id=f"chunk{nc}") for nc in (1, 2, 64)]


@pytest.mark.parametrize("nc", CHUNK_PARAMS)
@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
@pytest.mark.parametrize("geometry", GEOMETRY_PARAMS)
def test_conv_cl_forward_matches_naive_loops(geometry, dtype, nc):
    x, Wt, b, strides_pads, _ = setup(geometry, dtype)
    out = run_cl(x, Wt, b, strides_pads, nc)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, conv_ref(x, Wt, b, *strides_pads), **TOL[dtype])


@pytest.mark.parametrize("nc", CHUNK_PARAMS)
@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
@pytest.mark.parametrize("geometry", GEOMETRY_PARAMS)
def test_conv_cl_backward_matches_naive_loops(geometry, dtype, nc):
    """Chunks of 1 and 2 samples (uneven last chunk with 3 samples) and one chunk larger than the batch."""
    x, Wt, b, strides_pads, _ = setup(geometry, dtype)
    out = run_cl(x, Wt, b, strides_pads, nc)
    dout = np.random.default_rng(2).standard_normal(out.shape).astype(dtype)
    dout_before, x_before = dout.copy(), x.copy()
    dW, db, dx = run_cl(x, Wt, b, strides_pads, nc, dout)
    dW_ref, db_ref, dx_ref = conv_backward_ref(x, Wt, dout, *strides_pads)
    np.testing.assert_array_equal(dout, dout_before)
    np.testing.assert_array_equal(x, x_before)
    for name, ours, ref in (("dW", dW, dW_ref), ("db", db, db_ref), ("dx", dx, dx_ref)):
        np.testing.assert_allclose(ours, ref, **TOL[dtype], err_msg=name)


ONE_CHANNEL_S1 = [pytest.param(g, id=name) for name, g in GEOMETRIES.items() if g[1] == 1 and g[7] == g[8] == 1]


@pytest.mark.parametrize("with_dx", [True, False], ids=["dx", "no_dx"])
@pytest.mark.parametrize("nc", CHUNK_PARAMS)
@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
@pytest.mark.parametrize("geometry", ONE_CHANNEL_S1)
def test_conv_clt_forward_backward_match_naive_loops(geometry, dtype, nc, with_dx):
    """Transposed columns (one input channel, stride 1): chunks of 1, 2 and more samples than the batch."""
    x, Wt, b, strides_pads, _ = setup(geometry, dtype)
    out = run_cl(x, Wt, b, strides_pads, nc, transposed=True)
    np.testing.assert_allclose(out, conv_ref(x, Wt, b, *strides_pads), **TOL[dtype])
    dout = np.random.default_rng(2).standard_normal(out.shape).astype(dtype)
    dW, db, dx = run_cl(x, Wt, b, strides_pads, nc, dout, with_dx, transposed=True)
    dW_ref, db_ref, dx_ref = conv_backward_ref(x, Wt, dout, *strides_pads)
    for name, ours, ref in (("dW", dW, dW_ref), ("db", db, db_ref)) + ((("dx", dx, dx_ref),) if with_dx else ()):
        np.testing.assert_allclose(ours, ref, **TOL[dtype], err_msg=name)


@pytest.mark.parametrize("nc", [1, 2])
def test_conv_cl_backward_skipped_dx(nc):
    x, Wt, b, strides_pads, _ = setup(GEOMETRIES["c2_h8w7_k3x1_s3x2_p1x0"], np.float64)
    dout = np.random.default_rng(3).standard_normal(run_cl(x, Wt, b, strides_pads, nc).shape)
    dW, db, _ = run_cl(x, Wt, b, strides_pads, nc, dout, with_dx=False)
    dW_ref, db_ref, _ = conv_backward_ref(x, Wt, dout, *strides_pads)
    np.testing.assert_allclose(dW, dW_ref, rtol=1e-10)
    np.testing.assert_allclose(db, db_ref, rtol=1e-10)


@pytest.mark.parametrize("P, expected", [(196, 1), (129, 1), (128, 2), (64, 4), (49, 5), (10**4, 1)])
def test_chunk_rows_targets_rows_whatever_the_batch(P, expected):
    assert conv.chunk_rows(P) == expected


@pytest.mark.parametrize("K, F, P, expected", [(9, 16, 784, 3), (25, 32, 784, 1), (9, 16, 64, 40), (9, 64, 10**4, 1)])
def test_chunk_transposed_targets_values_whatever_the_batch(K, F, P, expected):
    assert conv.chunk_transposed(K, F, P) == expected


# ---------------------------------------------------------------------------------------------- stride 1
# (N, C, H, W, F, kh, kw, ph, pw): stride-1 geometries of the chunked fast path; all but the last have
# K = C*kh*kw >= F, where each chunk's dW is computed transposed.
S1_GEOMETRIES = {
    "c1_h6w6_k3_same": (5, 1, 6, 6, 3, 3, 3, 1, 1),
    "c3_h7w5_k3_same": (4, 3, 7, 5, 4, 3, 3, 1, 1),
    "c2_h5w8_k3x1_p1x0": (3, 2, 5, 8, 2, 3, 1, 1, 0),
    "c2_h6w5_k2x3_p0x2": (3, 2, 6, 5, 3, 2, 3, 0, 2),
    "c2_h4w4_k1_p0": (3, 2, 4, 4, 2, 1, 1, 0, 0),
    "c1_h3w4_k3_p3": (2, 1, 3, 4, 2, 3, 3, 3, 3),
    "c2_h7w7_k5_p1": (3, 2, 7, 7, 2, 5, 5, 1, 1),
    "c1_h5w5_k1x3_f6_p0x1": (3, 1, 5, 5, 6, 1, 3, 0, 1),  # K = 3 < F = 6: dW in the (F, m) @ (m, K) orientation
}
S1_PARAMS = [pytest.param(g, id=name) for name, g in S1_GEOMETRIES.items()]


def run_s1(x, Wt, b, ph, pw, nc, dout=None, with_dx=True):
    """The stride-1 kernels with NaN-filled work buffers (every value they read must have been written) and zeroed
    gradients (they accumulate into them)."""
    N, C, H, Wd = x.shape
    F, _, kh, kw = Wt.shape
    Ho, Wo = conv.out_size(H, kh, 1, ph), conv.out_size(Wd, kw, 1, pw)
    K, L, P1 = C * kh * kw, conv.pad_length(H, Wd, kh, kw, ph, pw), Ho * (Wd + 2 * pw)
    xpad = np.full((N, C, L), np.nan, x.dtype)
    conv.pad_input(x, ph, pw, xpad)
    cols, gemm = np.full(K * nc * P1, np.nan, x.dtype), np.full(F * nc * P1, np.nan, x.dtype)
    out = np.full((N, F, Ho, Wo), np.nan, x.dtype)
    conv.conv_forward_s1(xpad, Wt, b, H, Wd, ph, pw, nc, cols, gemm, out)
    if dout is None:
        return xpad, out
    dW, db = np.zeros(Wt.shape, x.dtype), np.zeros(b.shape, x.dtype)
    conv.conv_backward_s1(dout, xpad, kh, kw, nc, cols, gemm, np.full((F, K), np.nan, x.dtype), dW, db)
    if not with_dx:
        return dW, db, None
    dx = np.full(x.shape, np.nan, x.dtype)
    conv.conv_backward_data_s1(dout, Wt, ph, pw, nc, np.full(gemm.shape, np.nan, x.dtype),
                               np.full(K * nc * P1, np.nan, x.dtype), np.full((C, L), np.nan, x.dtype), dx)
    return dW, db, dx


@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
@pytest.mark.parametrize("geometry", S1_PARAMS)
def test_pad_input_matches_numpy_pad(geometry, dtype):
    N, C, H, Wd, F, kh, kw, ph, pw = geometry
    x = np.random.default_rng(0).standard_normal((N, C, H, Wd)).astype(dtype)
    xpad, _ = run_s1(x, np.ones((F, C, kh, kw), dtype), np.zeros(F, dtype), ph, pw, 1)
    plane = (H + 2 * ph) * (Wd + 2 * pw)
    np.testing.assert_array_equal(xpad[:, :, :plane].reshape(pad(x, ph, pw).shape), pad(x, ph, pw))
    np.testing.assert_array_equal(xpad[:, :, plane:], 0)  # slack read by the discarded columns


@pytest.mark.parametrize("nc", [1, 2, 4, 64], ids=lambda nc: f"chunk{nc}")
@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
@pytest.mark.parametrize("geometry", S1_PARAMS)
def test_conv_s1_forward_backward_match_naive_loops(geometry, dtype, nc):
    """Chunks of 1, 2, 4 samples (uneven last chunks) and one chunk larger than the batch."""
    N, C, H, Wd, F, kh, kw, ph, pw = geometry
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, C, H, Wd)).astype(dtype)
    Wt, b = rng.standard_normal((F, C, kh, kw)).astype(dtype), rng.standard_normal(F).astype(dtype)
    _, out = run_s1(x, Wt, b, ph, pw, nc)
    np.testing.assert_allclose(out, conv_ref(x, Wt, b, 1, 1, ph, pw), **TOL[dtype])
    dout = rng.standard_normal(out.shape).astype(dtype)
    dout_before = dout.copy()
    dW, db, dx = run_s1(x, Wt, b, ph, pw, nc, dout)
    np.testing.assert_array_equal(dout, dout_before)
    dW_ref, db_ref, dx_ref = conv_backward_ref(x, Wt, dout, 1, 1, ph, pw)
    for name, ours, ref in (("dW", dW, dW_ref), ("db", db, db_ref), ("dx", dx, dx_ref)):
        np.testing.assert_allclose(ours, ref, **TOL[dtype], err_msg=name)
    dW_only, db_only, _ = run_s1(x, Wt, b, ph, pw, nc, dout, with_dx=False)  # a first layer: weights alone
    np.testing.assert_array_equal(dW_only, dW)
    np.testing.assert_array_equal(db_only, db)


def test_conv_s1_backward_skipped_dx():
    N, C, H, Wd, F, kh, kw, ph, pw = S1_GEOMETRIES["c3_h7w5_k3_same"]
    rng = np.random.default_rng(2)
    x, Wt, b = rng.standard_normal((N, C, H, Wd)), rng.standard_normal((F, C, kh, kw)), rng.standard_normal(F)
    dout = rng.standard_normal((N, F, H, Wd))
    dW, db, _ = run_s1(x, Wt, b, ph, pw, 3, dout, with_dx=False)
    dW_ref, db_ref, _ = conv_backward_ref(x, Wt, dout, 1, 1, ph, pw)
    np.testing.assert_allclose(dW, dW_ref, rtol=1e-10)
    np.testing.assert_allclose(db, db_ref, rtol=1e-10)


# ---------------------------------------------------------------------------------------------- Conv2D
LAYER_CONFIGS = {
    "k3_s1_p0": dict(kernel_size=3),
    "k3_s1_same": dict(kernel_size=3, padding="same"),
    "k3x2_s2x1_p1": dict(kernel_size=(3, 2), stride=(2, 1), padding=1),
    "k2_s2_p1x0": dict(kernel_size=2, stride=2, padding=(1, 0)),
}


@pytest.mark.parametrize("config", LAYER_CONFIGS.values(), ids=LAYER_CONFIGS.keys())
def test_conv2d_gradcheck(config):
    errors = check_layer(L.Conv2D(3, **config), (2, 6, 5), batch_size=2)
    assert set(errors) == {"x", "param0", "param1"}
    assert max(errors.values()) < 1e-6, errors


# (C, H, W, filters, kernel, stride, padding): 1 and 3 channels, odd sizes, 'valid' (0) and 'same', strides 1 and 2
PATH_CONFIGS = {
    "c1_h7w5_k3_s1_valid": (1, 7, 5, 3, 3, 1, 0),
    "c3_h5w7_k3_s1_same": (3, 5, 7, 4, 3, 1, "same"),
    "c3_h7w7_k5_s1_same": (3, 7, 7, 2, 5, 1, "same"),
    "c1_h9w7_k5_s2_same": (1, 9, 7, 3, 5, 2, "same"),
    "c3_h7w9_k3_s2_valid": (3, 7, 9, 2, 3, 2, 0),
    "c3_h8w8_k3_s1_same": (3, 8, 8, 2, 3, 1, "same"),  # P = 64
}
PATHS = {"channels_last": "channels_last", "padded_width": "padded_width"}  # Conv2D.path forcing each stride-1 path


def _takes(config, path):
    """Whether a layer of ``config`` can be forced onto ``path``: strides other than 1 always take the channels-last
    path, and only one input channel the transposed one."""
    C, s = config[0], config[5]
    return path == "channels_last" or s == 1 and (path == "padded_width" or C == 1)


PATH_PARAMS = [
    pytest.param(config, path, id=f"{name}-{path}")
    for name, config in PATH_CONFIGS.items() for path in (*PATHS, "transposed") if _takes(config, path)
]


@pytest.mark.parametrize("chunk", [1, 2])
@pytest.mark.parametrize("config, path", PATH_PARAMS)
def test_conv2d_gradcheck_both_paths_across_chunk_boundaries(monkeypatch, config, path, chunk):
    """Batches of 5 in chunks of 2 samples (the last chunk holds one) and of one sample (the channels-last GEMMs
    then write the output planes in place), float64 central differences."""
    C, H, W, F, k, s, p = config
    monkeypatch.setattr(conv, "chunk_rows", lambda P: chunk)
    monkeypatch.setattr(conv, "chunk_transposed", lambda K, F, P: chunk)
    monkeypatch.setattr(conv, "chunk_samples", lambda *args: chunk)
    layer = L.Conv2D(F, k, stride=s, padding=p)
    layer.path = path
    layer.build((C, H, W), np.float64, np.random.default_rng(0))
    assert layer._layout == path
    x = np.random.default_rng(1).standard_normal((5, C, H, W))
    (sh, sw), (ph, pw) = layer.stride, layer.padding
    np.testing.assert_allclose(layer.forward(x, training=True), conv_ref(x, layer.W, layer.b, sh, sw, ph, pw),
                               rtol=1e-10, atol=1e-12)
    # conv is linear in x and W: central differences have no truncation error, a larger step less round-off
    errors = check_layer(layer, (C, H, W), x=x, eps=1e-4)
    assert set(errors) == {"x", "param0", "param1"}
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("C, k, stride, size, layout", [
    (3, 3, 1, 32, "padded_width"), (8, 3, 1, 16, "padded_width"), (2, 5, 1, 28, "padded_width"),
    (1, 3, 1, 16, "transposed"), (1, 3, 1, 28, "transposed"), (1, 5, 1, 28, "transposed"),
    (1, 3, 1, 8, "channels_last"), (3, 5, 1, 15, "channels_last"),  # images under 16x16 pixels
    (16, 1, 1, 28, "channels_last"), (64, 3, 1, 28, "channels_last"), (1, 3, 2, 28, "channels_last"),
    (3, 3, (1, 2), 28, "channels_last"),
])
def test_conv2d_path_follows_channels_image_size_and_stride(C, k, stride, size, layout):
    layer = L.Conv2D(4, k, stride=stride, padding="same" if np.all(np.asarray(k) % 2) else 1)
    layer.build((C, size, size), np.float32, np.random.default_rng(0))
    assert layer._layout == layout
    assert layer._channels_last == (layout != "padded_width")  # the transposed layout's input is channels last too
    layer.path = "channels_last" if stride == 1 and layout != "channels_last" else "padded_width"
    assert layer._channels_last == (stride != 1 or layout != "channels_last")  # forced, but never stride > 1 padded


@pytest.mark.parametrize("path", PATHS, ids=PATHS)
def test_conv2d_gradcheck_with_decay(path):
    layer = L.Conv2D(2, 3, padding=1)
    layer.path = PATHS[path]
    layer.build((2, 4, 4), np.float64, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((2, 2, 4, 4))
    dout = np.random.default_rng(2).standard_normal((2, 2, 4, 4))
    layer.forward(x, training=True)
    layer.backward(dout, l2=0.3)

    def objective():  # sum(out * dout) + 0.5 * l2 * ||W||^2
        return float(np.sum(layer.forward(x, training=True) * dout) + 0.15 * np.sum(layer.W**2))

    assert relative_error(layer.dW.copy(), numerical_gradient(objective, layer.W)) < 1e-6


@pytest.mark.parametrize("path", [*PATHS, "transposed"])
def test_conv2d_first_layer_returns_no_input_gradient(path):
    layer = L.Conv2D(2, 3)
    layer.path = path
    layer.build((1, 5, 5), np.float64, np.random.default_rng(0))
    layer.input_grad = False
    x = np.random.default_rng(1).standard_normal((2, 1, 5, 5))
    out = layer.forward(x, training=True)
    dout = np.random.default_rng(2).standard_normal(out.shape)
    assert layer.backward(dout) is None
    dW_ref, db_ref, _ = conv_backward_ref(x, layer.W, dout, 1, 1, 0, 0)
    np.testing.assert_allclose(layer.dW, dW_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.db, db_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
def test_conv2d_forward_matches_naive_loops_and_keeps_dtype(dtype):
    layer = L.Conv2D(4, (3, 2), stride=(1, 2), padding=(1, 0))
    out_shape = layer.build((3, 6, 7), dtype, np.random.default_rng(0))
    assert out_shape == (4, 6, 3)
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 7))
    out = layer.forward(x)
    assert out.dtype == dtype and out.shape == (2, *out_shape)
    np.testing.assert_allclose(out, conv_ref(x.astype(dtype), layer.W, layer.b, 1, 2, 1, 0), **TOL[dtype])


def test_conv2d_he_uniform_init():
    layer = L.Conv2D(64, 3)
    layer.build((8, 5, 5), np.float64, np.random.default_rng(0))
    bound = np.sqrt(6.0 / (8 * 9))
    assert np.abs(layer.W).max() <= bound and np.abs(layer.W).max() > 0.95 * bound
    assert np.all(layer.b == 0) and layer.penalized == [True, False]


def test_conv2d_inference_allocates_and_chunks_large_batches():
    layer = L.Conv2D(3, 3, padding="same")
    layer.build((2, 5, 4), np.float64, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((7, 2, 5, 4))
    train_out = layer.forward(x, training=True).copy()
    layer.max_cols = 2 * 18 * 20  # two samples per chunk
    first = layer.forward(x)
    second = layer.forward(x)
    assert first is not second
    np.testing.assert_allclose(first, train_out, rtol=1e-12)


def test_conv2d_training_reuses_buffers_for_smaller_batches():
    layer = L.Conv2D(2, 3, padding=1)
    layer.build((1, 4, 4), np.float64, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    big, small = rng.standard_normal((5, 1, 4, 4)), rng.standard_normal((2, 1, 4, 4))
    layer.forward(big, training=True)
    out = layer.forward(small, training=True)
    np.testing.assert_allclose(out, layer.forward(small), rtol=1e-12)
    dx = layer.backward(np.ones_like(out))
    assert dx.shape == small.shape


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(filters=0, kernel_size=3), "filters"),
        (dict(filters=2.5, kernel_size=3), "filters"),
        (dict(filters=2, kernel_size=0), "kernel_size"),
        (dict(filters=2, kernel_size=(3, 3, 3)), "kernel_size"),
        (dict(filters=2, kernel_size=3, stride=0), "stride"),
        (dict(filters=2, kernel_size=3, padding=-1), "padding"),
        (dict(filters=2, kernel_size=3, padding="valid"), "padding"),
        (dict(filters=2, kernel_size=(2, 3), padding="same"), "odd"),
    ],
    ids=["filters0", "filters_float", "kernel0", "kernel_triple", "stride0", "padding_negative",
         "padding_valid_string", "same_even_kernel"],
)
def test_conv2d_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        L.Conv2D(**kwargs)


def test_conv2d_build_rejects_bad_input_shapes():
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        L.Conv2D(2, 3).build((5, 5), np.float64)
    with pytest.raises(ValueError, match="does not fit"):
        L.Conv2D(2, 5).build((1, 3, 3), np.float64)
