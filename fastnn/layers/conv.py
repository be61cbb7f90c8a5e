"""``Conv2D``: 2-D convolution over ``(N, C, H, W)``."""
import numpy as np

from ..kernels import conv as _conv
from . import workspace
from .base import Layer, image_shape, pair
from .init import uniform_bounds
from .threads import run, split


class Conv2D(Layer):
    """2-D convolution (cross-correlation) over ``x (N, C, H, W)``, computed as im2col + GEMM.

    The batch is padded once and convolved as im2col + GEMM in chunks of samples (``fastnn.kernels.conv``): in
    channels-last columns, one row per output position (``conv_forward_cl``), for every stride and for inputs of
    at least ``cl_channels`` channels or fewer than ``s1_pixels`` pixels; other stride-1 layers (first layers of
    images from 16x16) take transposed channels-last columns with one input channel (``conv_forward_clt``) and
    columns over the padded width with 2 to ``cl_channels - 1`` (``conv_forward_s1``). Batches are split across threads
    as described in ``fastnn.layers.threads`` (``split``, ``run``); each thread computes the weight gradient of its
    samples privately and the first thread's buffers (the layer's ``dW``, ``db``) receive the others' in one
    reduction.

    ``y[n, f, oh, ow] = b[f] + sum_{c,i,j} W[f, c, i, j] * xpad[n, c, oh*sh + i, ow*sw + j]`` with weights
    ``W (filters, C, kh, kw)``, bias ``b (filters,)`` and output ``(N, filters, H', W')`` where
    ``H' = (H + 2*ph - kh) // sh + 1`` and ``W' = (W + 2*pw - kw) // sw + 1``.

    ``kernel_size`` and ``stride`` are an int or a pair ``(h, w)``; ``padding`` (zeros on both sides) is an int,
    a pair ``(ph, pw)``, or ``"same"`` for odd kernels, meaning ``p = (k - 1) // 2``, so that ``H' = H`` at
    stride 1 (and ``ceil(H / s)`` at stride s).

    Initialisation: ``"he"`` of ``fastnn.layers.init`` (``W ~ U(-r, r)``, ``r = sqrt(6 / fan_in)``,
    ``fan_in = C * kh * kw``; zero bias). ``W`` is L2-penalised: ``backward(dout, l2)``
    adds ``l2 * W`` to dW. Inference (``training=False``) processes large batches in chunks so that the im2col
    matrix stays below ``max_cols`` elements.

    Parameters
    ----------
    filters : int
        Number of output channels.
    kernel_size : int or tuple of int
        Height and width of the kernel.
    stride : int, default=1
        Step between kernel positions.
    padding : int, default=0
        Zeros added on each side of the height and width.

    Examples
    --------
    >>> from fastnn.layers import Conv2D
    >>> layer = Conv2D(8, 3, padding=1)
    >>> layer.build((1, 8, 8), np.float32, np.random.default_rng(0))
    (8, 8, 8)
    >>> layer.forward(np.zeros((2, 1, 8, 8), np.float32)).shape
    (2, 8, 8, 8)
    """

    output_reusable = True

    max_cols = 1 << 22
    #: Input channels from which stride-1 layers take the channels-last path (measured on one thread: 16 -> 32
    #: and 32 -> 64 channels ran 1.1-1.4x faster there, 8 -> 16 and first layers of 1 or 3 channels 1.2-2x slower).
    cl_channels = 16
    #: Below ``cl_channels``, the padded-width and transposed paths also need images of at least ``s1_pixels``
    #: (``H*W``): on the 8x8
    #: digits it saves 0.09 ms per 64 samples of a 1 -> 16 channel 3x3 layer's training pass (one thread), and a
    #: network that has no other padded-width layer would compile its kernels for that, about 2 s of CPU time that
    #: a cold fit pays (measured 2026-12-07: a cold digits CNNClassifier fit 4.2 -> 3.6 s, its warm fit 5-10 %
    #: slower). On 28x28 and 32x32 images it ran first layers of 1 and 3 channels faster in whole networks.
    s1_pixels = 256
    #: ``None``: the layer chooses its path (``_layout``); ``'channels_last'``, or at stride 1 ``'padded_width'`` or
    #: (one input channel) ``'transposed'``, force one, for tests and benchmarks that compare them.
    path = None

    def __init__(self, filters, kernel_size, stride=1, padding=0):
        super().__init__()
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"Conv2D: filters must be a positive integer, got {filters!r}.")
        self.filters = int(filters)
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2D", 1)
        self.stride = pair(stride, "stride", "Conv2D", 1)
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
            self.padding = pair(padding, "padding", "Conv2D", 0)
        self._padding_arg = padding

    def _build(self, input_shape, rng):
        C, H, W = image_shape("Conv2D", input_shape)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        Ho, Wo = _conv.out_size(H, kh, sh, ph), _conv.out_size(W, kw, sw, pw)
        if Ho < 1 or Wo < 1:
            raise ValueError(
                f"Conv2D: a {kh}x{kw} kernel with padding {self.padding} does not fit a {H}x{W} input "
                f"(output would be {Ho}x{Wo}); use a smaller kernel or more padding."
            )
        bound, _ = uniform_bounds("he", C * kh * kw, self.filters)
        W_ = rng.uniform(-bound, bound, (self.filters, C, kh, kw)).astype(self.dtype)
        b = np.zeros(self.filters, self.dtype)
        self.params, self.grads, self.penalized = [W_, b], [np.zeros_like(W_), np.zeros_like(b)], [True, False]
        self._bound()
        self._K, self._P = C * kh * kw, Ho * Wo
        return (self.filters, Ho, Wo)

    def init_bounds(self):
        """``(r_W, r_b)`` of this layer's initialisation rule (``fastnn.layers.init``); needs ``build``."""
        return uniform_bounds("he", self._K, self.filters)

    def _bound(self):
        self.W, self.b = self.params
        self.dW, self.db = self.grads

    @property
    def _layout(self):
        """The kernels' column layout: ``'channels_last'``, ``'transposed'`` (channels last, one input channel at
        stride 1: ``conv_forward_clt``) or ``'padded_width'``."""
        if self.stride != (1, 1):
            return "channels_last"
        if self.path is not None:
            return self.path
        C, H, W = self.input_shape
        if C >= self.cl_channels or H * W < self.s1_pixels:
            return "channels_last"
        return "transposed" if C == 1 else "padded_width"

    @property
    def _channels_last(self):
        """Whether the padded input and the weights are channels last (the transposed layout's are too)."""
        return self._layout != "padded_width"

    def _s1_geometry(self, N):
        """``C, H, W, L, P1, nc`` of the stride-1 path for a range of ``N`` samples (``nc``: samples per chunk)."""
        C, H, W = self.input_shape
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        Wp = W + 2 * pw
        L = _conv.pad_length(H, W, kh, kw, ph, pw)
        P1 = self.output_shape[1] * Wp
        nc = min(_conv.chunk_samples(self._K, self.filters, self.output_shape[1], Wp, N), max(N, 1))
        return C, H, W, L, P1, nc

    def _padded_shape(self):
        """``(Hp, Wp, C)``: one padded channels-last sample."""
        C, H, W = self.input_shape
        (ph, pw) = self.padding
        return (H + 2 * ph, W + 2 * pw, C)

    def _buffer(self, name, size):
        """A 1-D training work buffer of ``size`` values, kept at the largest size seen and sliced (chunk and range
        sizes follow the batch size). Names end in the thread's range index: each range has its own."""
        buf = self._buffers.get(name)
        if buf is None or buf.size < size:
            buf = self._buffers[name] = np.empty(size, self.dtype)
        return buf[:size]

    def splits(self, n):
        return len(self._split(n)) > 1

    def _split(self, n):
        """Per-thread sample ranges of a pass over ``n`` samples (multiply-adds per sample as the work)."""
        return split(n, self.filters * self._K * self._P)

    def _forward(self, x, training):
        N = x.shape[0]
        out = self._out("out", N, self.output_shape, training)
        ranges = self._split(N)
        Wr = self._weights_cl(training) if self._channels_last else None
        if not training:
            run(lambda t, a, b: self._infer_range(x[a:b], out[a:b], Wr), ranges)
            return out
        self._ranges = ranges
        if self._channels_last:  # backward recomputes the columns from the padded input
            self._xp = self._out("xp", N, self._padded_shape(), True)
            run(lambda t, a, b: self._forward_cl(t, x[a:b], self._xp[a:b], out[a:b], True, Wr), ranges)
        else:
            self._xpad = self._out("xpad", N, (self.input_shape[0], self._s1_geometry(N)[3]), True)
            run(lambda t, a, b: self._forward_s1(t, x[a:b], self._xpad[a:b], out[a:b], True), ranges)
        return out

    def _forward_s1(self, t, x, xpad, out, training):
        N, K, F = x.shape[0], self._K, self.filters
        _, H, W, _, P1, nc = self._s1_geometry(N)
        _conv.pad_input(x, *self.padding, xpad)
        if training:
            cols, gemm = self._buffer(f"cols1_{t}", K * nc * P1), self._buffer(f"gemm1_{t}", F * nc * P1)
        else:
            cols, gemm = np.empty(K * nc * P1, self.dtype), np.empty(F * nc * P1, self.dtype)
        _conv.conv_forward_s1(xpad, self.W, self.b, H, W, *self.padding, nc, cols, gemm, out)

    def _weights_cl(self, training):
        """The weights in the channels-last column order (``kernels.conv.weights_cl``), once per pass: in a training
        buffer, or a fresh array for inference (concurrent predictions must not share it)."""
        F, K = self.filters, self._K
        Wr = self._buffer("Wr", F * K) if training else np.empty(F * K, self.dtype)
        return _conv.weights_cl(self.W, Wr.reshape(F, K))

    def _forward_cl(self, t, x, xp, out, training, Wr):
        N, K, F, P = x.shape[0], self._K, self.filters, self._P
        transposed = self._layout == "transposed"
        nc = _conv.chunk_transposed(K, F, P) if transposed else _conv.chunk_rows(P)
        _conv.pad_nhwc(x, *self.padding, xp)
        alloc = self._buffer if training else (lambda name, size: np.empty(size, self.dtype))
        cols, gemm = alloc(f"cols_{t}", nc * P * K), alloc(f"gemm_{t}", nc * P * F)
        if transposed:
            _conv.conv_forward_clt(xp, Wr, self.b, *self.kernel_size, nc, cols, gemm, out)
        else:
            _conv.conv_forward_cl(xp, Wr, self.b, *self.kernel_size, *self.stride, nc, cols, gemm, out)

    def _infer_range(self, x, out, Wr):
        """Inference over one thread's range, in chunks whose im2col matrix stays below ``max_cols`` values."""
        step = max(1, self.max_cols // (self._K * self._P))
        for i in range(0, x.shape[0], step):
            xs, outs = x[i : i + step], out[i : i + step]
            if self._channels_last:
                xp = workspace.scratch("conv-xp", (xs.shape[0], *self._padded_shape()), self.dtype)
                self._forward_cl(0, xs, xp, outs, False, Wr)
            else:
                C, _, _, L, _, _ = self._s1_geometry(xs.shape[0])
                self._forward_s1(0, xs, workspace.scratch("conv-xpad", (xs.shape[0], C, L), self.dtype), outs, False)

    def _infer_cl(self, x, out, nchw, code, slope, Wr):
        """Inference channels last, for a network's conv stack (``fastnn.network.channels_last``): ``out (N, H', W',
        F) = act(conv(x) + b)`` with the activation ``code``/``slope`` of ``kernels.activations`` applied in the
        same pass, from ``x (N, H, W, C)`` (``(N, C, H, W)`` when ``nchw``: the stack's first layer) and ``Wr``
        from ``weights_cl``. Serial: the stack splits the batch."""
        (ph, pw), K, P = self.padding, self._K, self._P
        if nchw or ph or pw:
            xp = workspace.scratch("conv-xp", (x.shape[0], *self._padded_shape()), self.dtype)
            (_conv.pad_nhwc if nchw else _conv.pad_cl)(x, ph, pw, xp)
        else:
            xp = x
        nc = _conv.chunk_rows(P)
        cols = np.empty(nc * P * K, self.dtype)
        _conv.conv_infer_cl(xp, Wr, self.b, *self.kernel_size, *self.stride, nc, code, slope, cols, out)
        return out

    def backward(self, dout, l2=0.0):
        ranges = self._cached("_ranges")
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        dx = self._out("dx", dout.shape[0], self.input_shape, True) if self.input_grad else None
        Wr = self._weights_cl(True) if self._channels_last else None
        run(lambda t, a, b: self._backward_range(t, dout[a:b], None if dx is None else dx[a:b], l2, Wr), ranges)
        for t in range(1, len(ranges)):  # the private gradients of the other ranges
            self.dW += self._buffers[f"dW_{t}"].reshape(self.dW.shape)
            self.db += self._buffers[f"db_{t}"]
        return dx

    def _backward_range(self, t, dout, dx, l2, Wr):
        """Gradients of range ``t``: into the layer's ``dW``, ``db`` (with the L2 term) for ``t == 0``, into private
        buffers otherwise; ``dx`` (None for a network's first layer) is this range's slice of the input gradient.
        The kernels accumulate into zeroed gradients; the reordering of a channels-last ``dW`` and the L2 term are
        NumPy passes over the weights (loops of their own in the kernels cost compile time, not run time)."""
        N, K, P, F = dout.shape[0], self._K, self._P, self.filters
        if t == 0:
            dW, db = self.dW, self.db
        else:
            dW, db = self._buffer(f"dW_{t}", self.dW.size).reshape(self.dW.shape), self._buffer(f"db_{t}", F)
        db.fill(0)
        a = self._ranges[t][0]
        dW_tmp = self._buffer(f"dW_tmp_{t}", F * K).reshape(F, K)
        if not self._channels_last:
            C, _, _, L, P1, nc = self._s1_geometry(N)
            cols, doutp = self._buffer(f"cols1_{t}", K * nc * P1), self._buffer(f"gemm1_{t}", F * nc * P1)
            dW.fill(0)
            _conv.conv_backward_s1(dout, self._xpad[a : a + N], *self.kernel_size, nc, cols, doutp, dW_tmp, dW, db)
            if dx is not None:
                dcols, dxpad = self._buffer(f"dcols1_{t}", K * nc * P1), self._buffer(f"dxpad_{t}", C * L).reshape(C, L)
                _conv.conv_backward_data_s1(dout, self.W, *self.padding, nc, doutp, dcols, dxpad, dx)
        else:
            nc = _conv.chunk_rows(P)
            cols, dT = self._buffer(f"cols_{t}", nc * P * K), self._buffer(f"gemm_{t}", nc * P * F)
            if dx is not None:
                Hp, Wp, C = self._padded_shape()
                dcols = self._buffer(f"dcols_{t}", nc * P * K)
                dxp = self._buffer(f"dxp_{t}", Hp * Wp * C).reshape(Hp, Wp, C)
            else:
                dcols, dxp, dx = np.empty(0, self.dtype), np.empty((0,) * 3, self.dtype), np.empty((0,) * 4, self.dtype)
            dWr = self._buffer(f"dWr_{t}", F * K).reshape(F, K)
            dWr.fill(0)
            if self._layout == "transposed":
                _conv.conv_backward_clt(dout, self._xp[a : a + N], *self.kernel_size, nc, cols, dT, dW_tmp, dWr, db)
                if dx.size:
                    _conv.conv_backward_data_clt(dout, Wr, *self.kernel_size, *self.padding, nc, dT, dcols, dxp, dx)
            else:
                _conv.conv_backward_cl(dout, self._xp[a : a + N], Wr, *self.kernel_size, *self.stride, *self.padding,
                                       nc, cols, dT, dcols, dxp, dW_tmp, dWr, db, dx)
            _conv.grads_from_cl(dWr, dW)
        if t == 0 and l2:
            dW += self.dtype.type(l2) * self.W  # as the kernels added it: the product in the weights' dtype

    def __repr__(self):
        return (
            f"Conv2D({self.filters}, {self.kernel_size}, stride={self.stride}, padding={self._padding_arg!r})"
        )
