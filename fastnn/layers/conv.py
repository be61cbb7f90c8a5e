"""``Conv2D``: 2-D convolution over ``(N, C, H, W)``."""
import numpy as np

from ..kernels import conv as _conv
from .base import Layer, image_shape, pair
from .init import uniform_bounds


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

    max_cols = 1 << 22

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
    def _stride1(self):
        """Whether the stride-1 chunked kernels apply."""
        return self.stride == (1, 1)

    def _s1_geometry(self, N):
        """``C, H, W, L, P1, nc`` of the stride-1 path for a batch of ``N`` (``nc``: samples per chunk)."""
        C, H, W = self.input_shape
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        Wp = W + 2 * pw
        L = _conv.pad_length(H, W, kh, kw, ph, pw)
        P1 = self.output_shape[1] * Wp
        nc = min(_conv.chunk_samples(self._K, self.filters, self.output_shape[1], Wp, N), max(N, 1))
        return C, H, W, L, P1, nc

    def _chunk_buffers(self, names, sizes, training):
        """1-D work buffers for one chunk of the stride-1 path: fresh for inference; while training, kept at the
        largest size seen and sliced (the chunk, hence the size, follows the batch size)."""
        if not training:
            return [np.empty(size, self.dtype) for size in sizes]
        bufs = []
        for name, size in zip(names, sizes):
            buf = self._buffers.get(name)
            if buf is None or buf.size < size:
                buf = self._buffers[name] = np.empty(size, self.dtype)
            bufs.append(buf[:size])
        return bufs

    def _forward_s1(self, x, out, training):
        N, K, F = x.shape[0], self._K, self.filters
        C, H, W, L, P1, nc = self._s1_geometry(N)
        xpad = self._out("xpad", N, (C, L), training)
        _conv.pad_input(x, *self.padding, xpad)
        cols, gemm = self._chunk_buffers(("cols1", "gemm1"), (K * nc * P1, F * nc * P1), training)
        _conv.conv_forward_s1(xpad, self.W, self.b, H, W, *self.padding, nc, cols, gemm, out)
        return xpad

    def _forward_chunk(self, x, out, training):
        if self._stride1:
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

    def backward(self, dout, l2=0.0):
        cols = self._cached("_cols")
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        N, K, P, F = dout.shape[0], self._K, self._P, self.filters
        if self._stride1:
            C, H, W, L, P1, nc = self._s1_geometry(N)
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
                dout, cols, self.W, l2, *self.padding, nc, cols1, doutp, dcols, dxpad, dW_tmp,
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
            dout, cols, self.W, l2, *self.stride, *self.padding, dout2, dcols, self.dW, self.db, dx
        )
        return dx if self.input_grad else None

    def __repr__(self):
        return (
            f"Conv2D({self.filters}, {self.kernel_size}, stride={self.stride}, padding={self._padding_arg!r})"
        )
