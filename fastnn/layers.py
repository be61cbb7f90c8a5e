"""Layers: objects that own parameters and work buffers and call ``fastnn.kernels``.

Contract (see DESIGN.md): ``build(input_shape, dtype, rng) -> output_shape`` (shapes exclude the batch axis);
``forward(x, training=False) -> y``; ``backward(dout) -> dx``, which fills ``grads`` (parallel to ``params``)
and never writes into ``dout``. ``forward(training=True)`` caches what backward needs and writes into buffers
reused across batches (kept at the largest batch size seen, sliced for smaller ones); ``training=False``
allocates its output and caches nothing, so inference is thread-safe.

Inputs of any layout and dtype are accepted; kernels always receive C-contiguous, aligned, writable arrays of the
layer's dtype.
"""
import numpy as np

from .kernels import activations as _act
from .kernels import conv as _conv
from .kernels import dense as _dense
from .kernels import dropout as _dropout
from .kernels import pool as _pool


def kernel_array(x, dtype):
    """``x`` as a C-contiguous, writable, aligned array of ``dtype``: what every kernel is compiled for. Numba
    types read-only (e.g. memmapped) and unaligned arrays separately, so those are copied instead of compiling
    every kernel once more for them."""
    x = np.ascontiguousarray(x, dtype=dtype)
    return x if x.flags.writeable and x.flags.aligned else x.copy()


class Layer:
    """Base class. Subclasses with parameters fill ``params``/``grads`` and ``penalized`` in ``build``."""

    #: Whether backward must compute the input gradient; ``Sequential`` clears it for its first layer.
    input_grad = True

    def __init__(self):
        self.params, self.grads, self.penalized = [], [], []
        self.dtype = None
        self.input_shape = self.output_shape = None
        self._buffers = {}

    def build(self, input_shape, dtype=np.float64, rng=None):
        self.input_shape = tuple(int(d) for d in input_shape)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"{type(self).__name__}: dtype must be float32 or float64, got {self.dtype}.")
        self.output_shape = self._build(self.input_shape, rng if rng is not None else np.random.default_rng())
        return self.output_shape

    def _build(self, input_shape, rng):
        return input_shape

    def bind(self, params, grads):
        """Point ``params``/``grads`` at other arrays (views into a network's flat vectors), keeping values."""
        for new, old in zip(params, self.params):
            new[...] = old
        self.params, self.grads = list(params), list(grads)
        self._bound()

    def _bound(self):
        """Re-read named attributes (``W``, ``b``, ...) after ``params``/``grads`` were rebound."""

    def forward(self, x, training=False):
        """``y = f(x)`` for a batch ``x (N, *input_shape)`` of any layout and dtype."""
        return self._forward(self._input(x), training)

    def _forward(self, x, training):
        """``forward`` for an ``x`` already C-contiguous, writeable, of the layer's dtype and input shape (what
        the previous layer of a network hands over, so ``Sequential`` skips the checks after its first layer)."""
        raise NotImplementedError

    def _input(self, x):
        """``x`` as a C-contiguous array of the layer's dtype with the built feature shape."""
        if self.dtype is None:
            raise RuntimeError(f"{type(self).__name__} is not built: call build(input_shape, dtype, rng) first.")
        x = kernel_array(x, self.dtype)
        if x.shape[1:] != self.input_shape:
            raise ValueError(
                f"{type(self).__name__} expects input of shape (N, {', '.join(map(str, self.input_shape))}), "
                f"got {x.shape}."
            )
        return x

    def _out(self, name, n, shape, training):
        """A work array of shape ``(n, *shape)``: fresh for inference, a reused buffer while training."""
        if not training:
            return np.empty((n, *shape), self.dtype)
        buf = self._buffers.get(name)
        if buf is None or buf.shape[0] < n or buf.shape[1:] != tuple(shape):
            buf = np.empty((n, *shape), self.dtype)
            self._buffers[name] = buf
        return buf[:n]

    def _cached(self, name):
        value = getattr(self, name, None)
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward needs a forward(x, training=True) first.")
        return value

    def __repr__(self):
        return f"{type(self).__name__}()"


class Dense(Layer):
    """Affine layer ``y = x @ W + b``; ``x (N, n_in)``, ``W (n_in, n_out)``, ``b (n_out,)``.

    Initialisation ``init``: ``"glorot"`` draws W and b from U(-r, r) with r = sqrt(6 / (n_in + n_out))
    (Glorot & Bengio, as scikit-learn's MLP does), ``"glorot_logistic"`` uses r = sqrt(2 / (n_in + n_out))
    (scikit-learn's choice for logistic units), ``"he"`` r = sqrt(6 / n_in) with zero bias (He et al., for
    ReLU stacks). ``decay`` is the L2 coefficient added to dW (``dW += decay * W``); ``Sequential`` sets it.
    """

    _INITS = ("glorot", "glorot_logistic", "he")

    def __init__(self, n_out, init="glorot"):
        super().__init__()
        if not isinstance(n_out, (int, np.integer)) or isinstance(n_out, bool) or n_out < 1:
            raise ValueError(f"Dense: n_out must be a positive integer, got {n_out!r}.")
        if init not in self._INITS:
            raise ValueError(f"Dense: init must be one of {self._INITS}, got {init!r}.")
        self.n_out, self.init, self.decay = int(n_out), init, 0.0

    def _build(self, input_shape, rng):
        if len(input_shape) != 1:
            raise ValueError(f"Dense expects 1-D features per sample, got shape {input_shape}; add Flatten().")
        n_in = input_shape[0]
        if self.init == "he":
            bound, bias_bound = np.sqrt(6.0 / n_in), 0.0
        else:
            factor = 2.0 if self.init == "glorot_logistic" else 6.0
            bound = bias_bound = np.sqrt(factor / (n_in + self.n_out))
        W = rng.uniform(-bound, bound, (n_in, self.n_out)).astype(self.dtype)
        b = rng.uniform(-bias_bound, bias_bound, self.n_out).astype(self.dtype)
        self.params, self.grads, self.penalized = [W, b], [np.zeros_like(W), np.zeros_like(b)], [True, False]
        self._bound()
        return (self.n_out,)

    def _bound(self):
        self.W, self.b = self.params
        self.dW, self.db = self.grads

    def _forward(self, x, training):
        out = self._out("out", x.shape[0], (self.n_out,), training)
        _dense.dense_forward(x, self.W, self.b, out)
        if training:
            self._x = x
        return out

    def backward(self, dout):
        x = self._cached("_x")
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        if self.input_grad:
            dx = self._out("dx", x.shape[0], self.input_shape, True)
        else:
            dx = np.empty((0, 0), self.dtype)
        _dense.dense_backward(x, self.W, dout, self.decay, self.dW, self.db, dx)
        return dx if self.input_grad else None

    def __repr__(self):
        return f"Dense({self.n_out})"


class _Activation(Layer):
    """Element-wise activation over any shape; the kernels see flat views."""

    code = _act.IDENTITY
    slope = 0.0

    def _forward(self, x, training):
        out = self._out("out", x.shape[0], self.input_shape, training)
        _act.activation_forward(x.reshape(-1), self.code, self.slope, out.reshape(-1))
        if training:
            self._y = out
        return out

    def backward(self, dout):
        y = self._cached("_y")
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        dx = self._out("dx", y.shape[0], self.input_shape, True)
        _act.activation_backward(y.reshape(-1), dout.reshape(-1), self.code, self.slope, dx.reshape(-1))
        return dx


class Identity(_Activation):
    """``f(z) = z``."""

    code = _act.IDENTITY


class ReLU(_Activation):
    """``f(z) = max(z, 0)``."""

    code = _act.RELU


class LeakyReLU(_Activation):
    """``f(z) = z`` for z > 0, ``negative_slope * z`` otherwise (``negative_slope >= 0``)."""

    code = _act.LEAKY_RELU

    def __init__(self, negative_slope=0.01):
        super().__init__()
        if not np.isfinite(negative_slope) or negative_slope < 0:
            raise ValueError(f"LeakyReLU: negative_slope must be a finite number >= 0, got {negative_slope!r}.")
        self.slope = float(negative_slope)

    def __repr__(self):
        return f"LeakyReLU(negative_slope={self.slope})"


class Sigmoid(_Activation):
    """``f(z) = 1 / (1 + exp(-z))``, overflow-free for any finite z."""

    code = _act.LOGISTIC


class Tanh(_Activation):
    """``f(z) = tanh(z)``."""

    code = _act.TANH


ACTIVATIONS = {"identity": Identity, "relu": ReLU, "leaky_relu": LeakyReLU, "logistic": Sigmoid, "tanh": Tanh}


class Dropout(Layer):
    """Inverted dropout: while training, zero each unit with probability ``rate`` and scale the rest by
    ``1 / (1 - rate)``; at inference, the identity. Masks come from a seed drawn from the build ``rng``, so a
    seeded network drops the same units on every run."""

    def __init__(self, rate):
        super().__init__()
        if not (0.0 <= rate < 1.0):
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}.")
        self.rate = float(rate)

    def _build(self, input_shape, rng):
        self._rng = np.random.default_rng(rng.integers(2**63))
        return input_shape

    def _forward(self, x, training):
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        out = self._out("out", x.shape[0], self.input_shape, True)
        mask = self._out("mask", x.shape[0], self.input_shape, True)
        seed = int(self._rng.integers(2**63))
        _dropout.dropout_forward(x.reshape(-1), seed, self.rate, mask.reshape(-1), out.reshape(-1))
        self._mask = mask
        return out

    def backward(self, dout):
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        if self._mask is None:
            return dout
        dx = self._out("dx", dout.shape[0], self.input_shape, True)
        _dropout.dropout_backward(dout.reshape(-1), self._mask.reshape(-1), dx.reshape(-1))
        return dx

    def __repr__(self):
        return f"Dropout({self.rate})"


class Flatten(Layer):
    """``(N, d1, d2, ...) -> (N, d1 * d2 * ...)``; a view, no copy for C-contiguous input."""

    def _build(self, input_shape, rng):
        return (int(np.prod(input_shape)),)

    def _forward(self, x, training):
        return x.reshape(x.shape[0], *self.output_shape)  # not -1: an empty batch has no size to infer from

    def backward(self, dout):
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        return dout.reshape(dout.shape[0], *self.input_shape)


def _pair(value, what, layer, minimum):
    """``value`` (an int or a pair of ints, each >= ``minimum``) as a tuple ``(h, w)``; ValueError otherwise."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum for v in pair
    ):
        raise ValueError(
            f"{layer}: {what} must be an integer >= {minimum} or a pair (h, w) of such integers, got {value!r}."
        )
    return int(pair[0]), int(pair[1])


def _image_shape(layer, input_shape):
    if len(input_shape) != 3:
        raise ValueError(
            f"{layer} expects images of shape (C, H, W) per sample (input (N, C, H, W)), got {input_shape}."
        )
    return input_shape


class Conv2D(Layer):
    """2-D convolution (cross-correlation) over ``x (N, C, H, W)``, computed as im2col + GEMM.

    Stride 1 (every 'same' convolution) pads the batch once and runs im2col + GEMM in cache-sized chunks of
    samples over the padded width (``fastnn.kernels.conv.conv_forward_s1``); other strides use one
    im2col + GEMM over the whole batch.

    ``y[n, f, oh, ow] = b[f] + sum_{c,i,j} W[f, c, i, j] * xpad[n, c, oh*sh + i, ow*sw + j]`` with weights
    ``W (filters, C, kh, kw)``, bias ``b (filters,)`` and output ``(N, filters, H', W')`` where
    ``H' = (H + 2*ph - kh) // sh + 1`` and ``W' = (W + 2*pw - kw) // sw + 1``.

    ``kernel_size`` and ``stride`` are an int or a pair ``(h, w)``; ``padding`` (zeros on both sides) is an int,
    a pair ``(ph, pw)``, or ``"same"`` for odd kernels, meaning ``p = (k - 1) // 2``, so that ``H' = H`` at
    stride 1 (and ``ceil(H / s)`` at stride s).

    Initialisation: He-uniform (He et al. 2015, for ReLU networks), ``W ~ U(-r, r)`` with
    ``r = sqrt(6 / fan_in)``, ``fan_in = C * kh * kw``; zero bias. ``decay`` is the L2 coefficient added to dW
    (``dW += decay * W``); ``Sequential`` sets it. Inference (``training=False``) processes large batches in
    chunks so that the im2col matrix stays below ``max_cols`` elements.
    """

    max_cols = 1 << 22

    def __init__(self, filters, kernel_size, stride=1, padding=0):
        super().__init__()
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"Conv2D: filters must be a positive integer, got {filters!r}.")
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2D", 1)
        self.stride = _pair(stride, "stride", "Conv2D", 1)
        if isinstance(padding, str):
            if padding != "same":
                raise ValueError(f"Conv2D: padding must be an int, a pair (ph, pw) or 'same', got {padding!r}.")
            if any(k % 2 == 0 for k in self.kernel_size):
                raise ValueError(
                    f"Conv2D: padding='same' needs odd kernel sizes, got kernel_size={self.kernel_size}; "
                    "pass explicit padding instead."
                )
            self.padding = tuple((k - 1) // 2 for k in self.kernel_size)
        else:
            self.padding = _pair(padding, "padding", "Conv2D", 0)
        self._padding_arg = padding
        self.decay = 0.0

    def _build(self, input_shape, rng):
        C, H, W = _image_shape("Conv2D", input_shape)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        Ho, Wo = _conv.out_size(H, kh, sh, ph), _conv.out_size(W, kw, sw, pw)
        if Ho < 1 or Wo < 1:
            raise ValueError(
                f"Conv2D: a {kh}x{kw} kernel with padding {self.padding} does not fit a {H}x{W} input "
                f"(output would be {Ho}x{Wo}); use a smaller kernel or more padding."
            )
        bound = np.sqrt(6.0 / (C * kh * kw))
        W_ = rng.uniform(-bound, bound, (self.filters, C, kh, kw)).astype(self.dtype)
        b = np.zeros(self.filters, self.dtype)
        self.params, self.grads, self.penalized = [W_, b], [np.zeros_like(W_), np.zeros_like(b)], [True, False]
        self._bound()
        self._K, self._P = C * kh * kw, Ho * Wo
        return (self.filters, Ho, Wo)

    def _bound(self):
        self.W, self.b = self.params
        self.dW, self.db = self.grads

    @property
    def _fast(self):
        """Whether the stride-1 chunked kernels apply."""
        return self.stride == (1, 1)

    def _s1_geometry(self):
        C, H, W = self.input_shape
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        Wp = W + 2 * pw
        L = _conv.pad_length(H, W, kh, kw, ph, pw)
        P1 = self.output_shape[1] * Wp
        nc = _conv.chunk_samples(self._K, self.output_shape[1], Wp)
        return C, H, W, L, P1, nc

    def _chunk_buffers(self, names, sizes, training):
        """1-D work buffers for one chunk of the stride-1 path (fresh for inference, reused while training)."""
        return [self._out(name, 1, (size,), training)[0] for name, size in zip(names, sizes)]

    def _forward_s1(self, x, out, training):
        C, H, W, L, P1, nc = self._s1_geometry()
        N, K, F = x.shape[0], self._K, self.filters
        nc = max(1, min(nc, N))  # N may be 0
        xpad = self._out("xpad", N, (C, L), training)
        _conv.pad_input(x, *self.padding, xpad)
        cols, gemm = self._chunk_buffers(("cols1", "gemm1"), (K * nc * P1, F * nc * P1), training)
        _conv.conv_forward_s1(xpad, self.W, self.b, H, W, *self.padding, nc, cols, gemm, out)
        return xpad

    def _forward_chunk(self, x, out, training):
        if self._fast:
            return self._forward_s1(x, out, training)
        N, K, P, F = x.shape[0], self._K, self._P, self.filters
        cols = self._out("cols", N, (K * P,), training).reshape(K, N * P)
        gemm = self._out("gemm", N, (F * P,), training).reshape(F, N * P)
        _conv.conv_forward(x, self.W, self.b, *self.stride, *self.padding, cols, gemm, out)
        return cols

    def _forward(self, x, training):
        N = x.shape[0]
        out = self._out("out", N, self.output_shape, training)
        if training:
            self._cols = self._forward_chunk(x, out, True)  # the stride-1 path keeps the padded input instead
            return out
        step = max(1, self.max_cols // (self._K * self._P))
        for i in range(0, N, step):
            self._forward_chunk(x[i : i + step], out[i : i + step], False)
        return out

    def backward(self, dout):
        cols = self._cached("_cols")
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        N, K, P, F = dout.shape[0], self._K, self._P, self.filters
        if self._fast:
            C, H, W, L, P1, nc = self._s1_geometry()
            nc = max(1, min(nc, N))  # N may be 0
            cols1, doutp = self._chunk_buffers(("cols1", "gemm1"), (K * nc * P1, F * nc * P1), True)
            if self.input_grad:
                (dcols,) = self._chunk_buffers(("dcols1",), (K * nc * P1,), True)
                dxpad = self._out("dxpad", C, (L,), True)
                dx = self._out("dx", N, self.input_shape, True)
            else:
                dcols, dxpad = np.empty(0, self.dtype), np.empty((0, 0), self.dtype)
                dx = np.empty((0, 0, 0, 0), self.dtype)
            dW_tmp = self._out("dW_tmp", F, (K,), True)
            _conv.conv_backward_s1(
                dout, cols, self.W, self.decay, *self.padding, nc, cols1, doutp, dcols, dxpad, dW_tmp,
                self.dW, self.db, dx,
            )
            return dx if self.input_grad else None
        dout2 = self._out("gemm", N, (F * P,), True).reshape(F, N * P)
        if self.input_grad:
            dcols = self._out("dcols", N, (K * P,), True).reshape(K, N * P)
            dx = self._out("dx", N, self.input_shape, True)
        else:
            dcols, dx = np.empty((0, 0), self.dtype), np.empty((0, 0, 0, 0), self.dtype)
        _conv.conv_backward(
            dout, cols, self.W, self.decay, *self.stride, *self.padding, dout2, dcols, self.dW, self.db, dx
        )
        return dx if self.input_grad else None

    def __repr__(self):
        return (
            f"Conv2D({self.filters}, {self.kernel_size}, stride={self.stride}, padding={self._padding_arg!r})"
        )


class _Pool2D(Layer):
    """Shared geometry of the pooling layers: windows ``pool_size`` moved by ``stride`` (None: ``pool_size``),
    no padding; output ``(N, C, H', W')`` with ``H' = (H - kh) // sh + 1``, ``W' = (W - kw) // sw + 1``."""

    def __init__(self, pool_size, stride=None):
        super().__init__()
        name = type(self).__name__
        self.pool_size = _pair(pool_size, "pool_size", name, 1)
        self.stride = self.pool_size if stride is None else _pair(stride, "stride", name, 1)

    def _build(self, input_shape, rng):
        C, H, W = _image_shape(type(self).__name__, input_shape)
        (kh, kw), (sh, sw) = self.pool_size, self.stride
        if kh > H or kw > W:
            raise ValueError(
                f"{type(self).__name__}: pool_size {self.pool_size} is larger than the {H}x{W} input; "
                "use a smaller pool_size."
            )
        return (C, _conv.out_size(H, kh, sh, 0), _conv.out_size(W, kw, sw, 0))

    def __repr__(self):
        return f"{type(self).__name__}({self.pool_size}, stride={self.stride})"


class MaxPool2D(_Pool2D):
    """Max pooling over ``x (N, C, H, W)``: ``y[n, c, oh, ow] = max_{i<kh, j<kw} x[n, c, oh*sh + i, ow*sw + j]``,
    ``H' = (H - kh) // sh + 1``. The gradient goes to the window's maximum; on ties to the first one in
    row-major window order. Overlapping windows (stride < pool_size) accumulate their gradients."""

    def _forward(self, x, training):
        N = x.shape[0]
        out = self._out("out", N, self.output_shape, training)
        argmax = self._argmax_buffer(N) if training else np.empty((N, *self.output_shape), np.int64)
        _pool.maxpool_forward(x, *self.pool_size, *self.stride, out, argmax)
        if training:
            self._argmax = argmax
        return out

    def _argmax_buffer(self, N):
        buf = self._buffers.get("argmax")
        if buf is None or buf.shape[0] < N:
            buf = np.empty((N, *self.output_shape), np.int64)
            self._buffers["argmax"] = buf
        return buf[:N]

    def backward(self, dout):
        argmax = self._cached("_argmax")
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        dx = self._out("dx", dout.shape[0], self.input_shape, True)
        if self.pool_size == (2, 2) and self.stride == (2, 2):
            _pool.maxpool_backward_2x2(dout, argmax, dx)  # one writing pass instead of zero + scatter
        else:
            _pool.maxpool_backward(dout, argmax, dx)
        return dx


class AvgPool2D(_Pool2D):
    """Average pooling over ``x (N, C, H, W)``: ``y[n, c, oh, ow] = mean_{i<kh, j<kw} x[n, c, oh*sh + i,
    ow*sw + j]``, ``H' = (H - kh) // sh + 1``; backward spreads ``dout / (kh*kw)`` over each window."""

    def _forward(self, x, training):
        out = self._out("out", x.shape[0], self.output_shape, training)
        _pool.avgpool_forward(x, *self.pool_size, *self.stride, out)
        if training:
            self._n = x.shape[0]
        return out

    def backward(self, dout):
        self._cached("_n")
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        dx = self._out("dx", dout.shape[0], self.input_shape, True)
        _pool.avgpool_backward(dout, *self.pool_size, *self.stride, dx)
        return dx
