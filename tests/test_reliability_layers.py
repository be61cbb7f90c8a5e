"""Reliability at the layer boundary, property-based: for any batch size (0 included), feature shape, input dtype
(float16/32/64, integers, bool) and layout (Fortran, strided, reversed, read-only), every layer's forward and
backward never crash, equal the result for the C-contiguous array of the layer's dtype exactly, match a NumPy
reference, and never write into their inputs. ``test_bounds_checked_kernel_suite`` reruns these with the kernel
tests under ``NUMBA_BOUNDSCHECK=1``, so an out-of-bounds index fails instead of corrupting memory."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from fastnn.layers import AvgPool2D, Conv2D, Dense, Dropout, Flatten, Identity, LeakyReLU, MaxPool2D, ReLU, Sigmoid, Tanh

# Under the bounds-checked rerun only float64 layers are built (each dtype is a separate compile of every kernel).
LAYER_DTYPES = [np.float64] if os.environ.get("NUMBA_BOUNDSCHECK") == "1" else [np.float32, np.float64]
INPUT_DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int64, np.uint8, np.bool_]
LAYOUTS = ["C", "F", "strided", "reversed", "read_only"]
SETTINGS = settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _values(draw, shape, dtype):
    """Small values exactly representable in every input dtype (so all dtypes mean the same numbers)."""
    if dtype == np.bool_:
        return draw(st.lists(st.booleans(), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))), dtype
    low = 0 if dtype == np.uint8 else -4
    ints = draw(st.lists(st.integers(low, 4), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return ints, dtype


def _layout(values, shape, dtype, layout):
    base = np.asarray(values, dtype=np.float64).reshape(shape)
    if layout == "F":
        return np.asfortranarray(base.astype(dtype))
    if layout == "strided":
        big = np.zeros(tuple(2 * d + 1 for d in shape), dtype)
        view = big[tuple(slice(1, None, 2) for _ in shape)]
        view[...] = base
        return view
    if layout == "reversed":
        return np.ascontiguousarray(base[::-1].astype(dtype))[::-1]
    out = base.astype(dtype)
    if layout == "read_only":
        out.flags.writeable = False
    return out


@st.composite
def batches(draw, feature_shape):
    """(x in some dtype/layout, the same numbers as float64 C-contiguous)."""
    shape = (draw(st.integers(0, 4)), *feature_shape)
    dtype = draw(st.sampled_from(INPUT_DTYPES))
    values, dtype = _values(draw, shape, dtype)
    x = _layout(values, shape, dtype, draw(st.sampled_from(LAYOUTS)))
    return x, np.asarray(x, dtype=np.float64)


def _check(layer, x, x64, reference, dout_values):
    """Forward/backward on ``x`` equal those on the canonical array exactly, match ``reference(x64)``, and leave
    ``x`` and ``dout`` untouched."""
    dtype = layer.dtype.type
    canonical = np.ascontiguousarray(x64, dtype=dtype)
    x_before = x.copy()
    y_ref = layer.forward(canonical, training=False).copy()
    y = layer.forward(x, training=False)
    assert y.dtype == dtype and y.shape == (x.shape[0], *layer.output_shape)
    np.testing.assert_array_equal(y, y_ref, err_msg="odd layout/dtype vs C-contiguous layer dtype")
    np.testing.assert_allclose(y, reference(x64), **TOL[dtype], err_msg="ours vs NumPy reference")
    # backward, fed a Fortran-ordered float64 dout, against the canonical run
    dout = np.asfortranarray(np.asarray(dout_values, np.float64).reshape(y.shape))
    dout_before = dout.copy()
    layer.forward(canonical, training=True)
    dx_ref = layer.backward(np.ascontiguousarray(dout, dtype=dtype)).copy()
    grads_ref = [g.copy() for g in layer.grads]
    layer.forward(x, training=True)
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dx, dx_ref)
    for g, g_ref in zip(layer.grads, grads_ref):
        np.testing.assert_array_equal(g, g_ref)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dout, dout_before)
    return dx


def _dout(draw, n, out_shape):
    size = int(n * np.prod(out_shape))
    return draw(st.lists(st.integers(-3, 3), min_size=size, max_size=size))


# ------------------------------------------------------------------ dense, activations, dropout, flatten
@SETTINGS
@given(data=st.data(), n_in=st.integers(1, 5), n_out=st.integers(1, 4), dtype=st.sampled_from(LAYER_DTYPES))
def test_dense_any_input_layout_matches_numpy(data, n_in, n_out, dtype):
    layer = Dense(n_out)
    layer.build((n_in,), dtype, np.random.default_rng(0))
    x, x64 = data.draw(batches((n_in,)))
    W, b = layer.W.astype(np.float64), layer.b.astype(np.float64)
    dout = _dout(data.draw, x.shape[0], (n_out,))
    dx = _check(layer, x, x64, lambda a: a @ W + b, dout)
    np.testing.assert_allclose(dx, np.reshape(dout, (-1, n_out)) @ W.T, **TOL[dtype])


ACTIVATION_REFS = {
    "identity": (Identity, lambda a: a),
    "relu": (ReLU, lambda a: np.maximum(a, 0)),
    "leaky_relu": (lambda: LeakyReLU(0.1), lambda a: np.where(a > 0, a, 0.1 * a)),
    "sigmoid": (Sigmoid, lambda a: 1 / (1 + np.exp(-a))),
    "tanh": (Tanh, np.tanh),
}


@SETTINGS
@given(data=st.data(), name=st.sampled_from(sorted(ACTIVATION_REFS)),
       shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple), dtype=st.sampled_from(LAYER_DTYPES))
def test_activation_any_shape_and_layout_matches_numpy(data, name, shape, dtype):
    make, reference = ACTIVATION_REFS[name]
    layer = make()
    layer.build(shape, dtype, np.random.default_rng(0))
    x, x64 = data.draw(batches(shape))
    _check(layer, x, x64, reference, _dout(data.draw, x.shape[0], shape))


@SETTINGS
@given(data=st.data(), shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple),
       rate=st.sampled_from([0.0, 0.3, 0.9]), dtype=st.sampled_from(LAYER_DTYPES))
def test_dropout_any_layout_same_mask_for_same_seed(data, shape, rate, dtype):
    x, x64 = data.draw(batches(shape))
    a, b = Dropout(rate), Dropout(rate)
    a.build(shape, dtype, np.random.default_rng(1))
    b.build(shape, dtype, np.random.default_rng(1))
    np.testing.assert_array_equal(a.forward(x, training=False), x64.astype(dtype))  # inference: identity
    ya = a.forward(x, training=True)
    yb = b.forward(np.ascontiguousarray(x64, dtype=dtype), training=True)
    np.testing.assert_array_equal(ya, yb)
    scale = dtype(1.0 / (1.0 - rate))
    assert np.all((ya == 0) | (ya == x64.astype(dtype) * scale))
    dout = np.ones(ya.shape)
    np.testing.assert_array_equal(a.backward(dout), dout if rate == 0.0 else a._mask)


@SETTINGS
@given(data=st.data(), shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple),
       dtype=st.sampled_from(LAYER_DTYPES))
def test_flatten_any_layout_including_empty_batch(data, shape, dtype):
    layer = Flatten()
    layer.build(shape, dtype, np.random.default_rng(0))
    x, x64 = data.draw(batches(shape))
    flat = layer.output_shape
    dx = _check(layer, x, x64, lambda a: a.reshape(a.shape[0], *flat), _dout(data.draw, x.shape[0], flat))
    assert dx.shape == x.shape


# ------------------------------------------------------------------ convolution and pooling
def _windows(a, kh, kw, sh, sw, Ho, Wo):
    return sliding_window_view(a, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][:, :, :Ho, :Wo]


@st.composite
def conv_geometry(draw):
    C, H, W = draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    return C, H, W, kh, kw, ph, pw, sh, sw


@SETTINGS
@given(data=st.data(), geom=conv_geometry(), filters=st.integers(1, 3), dtype=st.sampled_from(LAYER_DTYPES))
def test_conv2d_any_geometry_and_layout_matches_numpy(data, geom, filters, dtype):
    C, H, W, kh, kw, ph, pw, sh, sw = geom
    Ho, Wo = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    layer = Conv2D(filters, (kh, kw), stride=(sh, sw), padding=(ph, pw))
    if Ho < 1 or Wo < 1:
        with pytest.raises(ValueError, match="does not fit"):
            layer.build((C, H, W), dtype, np.random.default_rng(0))
        return
    layer.build((C, H, W), dtype, np.random.default_rng(0))
    Wt, b = layer.W.astype(np.float64), layer.b.astype(np.float64) + 0.5
    layer.b[...] = b

    def reference(a):
        padded = np.pad(a, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        return np.einsum("nchwij,fcij->nfhw", _windows(padded, kh, kw, sh, sw, Ho, Wo), Wt) + b[:, None, None]

    x, x64 = data.draw(batches((C, H, W)))
    _check(layer, x, x64, reference, _dout(data.draw, x.shape[0], layer.output_shape))


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["max", "avg"]), C=st.integers(1, 2), H=st.integers(1, 6),
       W=st.integers(1, 6), k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       s=st.tuples(st.integers(1, 3), st.integers(1, 3)), dtype=st.sampled_from(LAYER_DTYPES))
def test_pool2d_any_geometry_and_layout_matches_numpy(data, kind, C, H, W, k, s, dtype):
    (kh, kw), (sh, sw) = k, s
    layer = (MaxPool2D if kind == "max" else AvgPool2D)((kh, kw), stride=(sh, sw))
    if kh > H or kw > W:
        with pytest.raises(ValueError, match="larger than"):
            layer.build((C, H, W), dtype, np.random.default_rng(0))
        return
    layer.build((C, H, W), dtype, np.random.default_rng(0))
    Ho, Wo = (H - kh) // sh + 1, (W - kw) // sw + 1
    reduce = np.max if kind == "max" else np.mean
    x, x64 = data.draw(batches((C, H, W)))
    dout = _dout(data.draw, x.shape[0], layer.output_shape)
    dx = _check(layer, x, x64, lambda a: reduce(_windows(a, kh, kw, sh, sw, Ho, Wo), axis=(-2, -1)), dout)
    # the input gradient conserves the output gradient's total (each output spreads or routes all of it)
    np.testing.assert_allclose(dx.sum(), np.sum(dout), **TOL[dtype])


# ------------------------------------------------------------------ the same, bounds-checked
@pytest.mark.skipif(os.environ.get("NUMBA_BOUNDSCHECK") != "1", reason="canary for the bounds-checked rerun only: "
                    "without bounds checks it would write past the end of a buffer")
def test_out_of_bounds_canary_raises_under_boundscheck():
    """Proves the rerun below really checks bounds: a kernel handed a too-short output buffer raises."""
    from fastnn.kernels import activations

    with pytest.raises(IndexError):
        activations.activation_forward(np.ones(8), activations.RELU, 0.0, np.empty(3))


def test_bounds_checked_kernel_suite():
    """Kernel, conv, pool, normalization, robust-loss and these layer tests with NUMBA_BOUNDSCHECK=1 in a fresh Numba cache (float64 only,
    to keep it near 20 s of compile): an out-of-bounds read or write raises IndexError instead of passing."""
    tests = Path(__file__).parent
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": cache}
        cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-x",
               "-k", "not float32 and not bounds_checked",
               *(str(tests / name) for name in
                 ("test_kernels.py", "test_conv.py", "test_pool.py", "test_reliability_layers.py", "test_batchnorm.py",
                  "test_global_pool.py", "test_robust_losses.py"))]
        result = subprocess.run(cmd, cwd=tests.parent, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "canary" not in result.stdout, result.stdout[-2000:]  # the canary ran
