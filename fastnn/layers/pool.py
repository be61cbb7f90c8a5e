"""Pooling over ``(N, C, H, W)``: ``MaxPool2D`` and ``AvgPool2D``."""
import numpy as np

from ..kernels import conv as _conv
from ..kernels import global_pool as _global_pool
from ..kernels import pool as _pool
from .base import Layer, image_shape, pair
from .threads import run, split


class _Pool2D(Layer):
    """Shared geometry of the pooling layers: windows ``pool_size`` moved by ``stride`` (None: ``pool_size``),
    no padding; output ``(N, C, H', W')`` with ``H' = (H - kh) // sh + 1``, ``W' = (W - kw) // sw + 1``."""

    def __init__(self, pool_size, stride=None):
        super().__init__()
        name = type(self).__name__
        self.pool_size = pair(pool_size, "pool_size", name, 1)
        self.stride = self.pool_size if stride is None else pair(stride, "stride", name, 1)

    def _build(self, input_shape, rng):
        C, H, W = image_shape(type(self).__name__, input_shape)
        (kh, kw), (sh, sw) = self.pool_size, self.stride
        if kh > H or kw > W:
            raise ValueError(
                f"{type(self).__name__}: pool_size {self.pool_size} is larger than the {H}x{W} input; "
                "use a smaller pool_size."
            )
        return (C, _conv.out_size(H, kh, sh, 0), _conv.out_size(W, kw, sw, 0))

    def splits(self, n):
        return len(self._ranges(n)) > 1

    def _ranges(self, N):
        """Per-thread sample ranges of a pass over ``N`` samples (the thread policy of ``fastnn.layers.conv``)."""
        return split(N, int(np.prod(self.input_shape)), "pool")

    def _infer_cl(self, x, out):
        """Inference channels last, for a network's conv stack (``fastnn.network.channels_last``): ``out (N, H', W',
        C)`` pooled from ``x (N, H, W, C)``. Serial: the stack splits the batch."""
        _pool.pool_cl(x, *self.pool_size, *self.stride, isinstance(self, AvgPool2D), out)
        return out

    def __repr__(self):
        return f"{type(self).__name__}({self.pool_size}, stride={self.stride})"


class MaxPool2D(_Pool2D):
    """Max pooling over ``x (N, C, H, W)``: ``y[n, c, oh, ow] = max_{i<kh, j<kw} x[n, c, oh*sh + i, ow*sw + j]``,
    ``H' = (H - kh) // sh + 1``. The gradient goes to the window's maximum; on ties to the first one in
    row-major window order. Overlapping windows (stride < pool_size) accumulate their gradients.

    Parameters
    ----------
    pool_size : int or tuple of int
        Height and width of the pooling window.
    stride : int, default=None
        Step between windows; ``None`` means ``pool_size``.

    Examples
    --------
    >>> from fastnn.layers import MaxPool2D
    >>> layer = MaxPool2D(2)
    >>> layer.build((1, 4, 4), np.float64)
    (1, 2, 2)
    >>> layer.forward(np.arange(16.0).reshape(1, 1, 4, 4))
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """

    @property
    def _2x2(self):
        """2x2 windows at stride 2: winners recorded as int8 window positions by the vectorised kernels."""
        return self.pool_size == (2, 2) and self.stride == (2, 2)

    def _forward(self, x, training):
        N = x.shape[0]
        out = self._out("out", N, self.output_shape, training)
        kind = np.int8 if self._2x2 else np.int64
        argmax = self._argmax_buffer(N, kind) if training else np.empty((N, *self.output_shape), kind)
        if self._2x2:
            run(lambda t, a, b: _pool.maxpool_forward_2x2(x[a:b], out[a:b], argmax[a:b]), self._ranges(N))
        else:
            run(lambda t, a, b: _pool.maxpool_forward(x[a:b], *self.pool_size, *self.stride, out[a:b], argmax[a:b]),
                self._ranges(N))
        if training:
            self._argmax = argmax
        return out

    def _argmax_buffer(self, N, kind):
        buf = self._buffers.get("argmax")
        if buf is None or buf.shape[0] < N:
            buf = np.empty((N, *self.output_shape), kind)
            self._buffers["argmax"] = buf
        return buf[:N]

    def backward(self, dout, l2=0.0):
        argmax = self._cached("_argmax")
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        dx = self._out("dx", dout.shape[0], self.input_shape, True)
        kernel = _pool.maxpool_backward_2x2 if self._2x2 else _pool.maxpool_backward  # 2x2: one writing pass
        run(lambda t, a, b: kernel(dout[a:b], argmax[a:b], dx[a:b]), self._ranges(dout.shape[0]))
        return dx


class AvgPool2D(_Pool2D):
    """Average pooling over ``x (N, C, H, W)``: ``y[n, c, oh, ow] = mean_{i<kh, j<kw} x[n, c, oh*sh + i,
    ow*sw + j]``, ``H' = (H - kh) // sh + 1``; backward spreads ``dout / (kh*kw)`` over each window.

    Parameters
    ----------
    pool_size : int or tuple of int
        Height and width of the pooling window.
    stride : int, default=None
        Step between windows; ``None`` means ``pool_size``.

    Examples
    --------
    >>> from fastnn.layers import AvgPool2D
    >>> layer = AvgPool2D(2)
    >>> layer.build((1, 4, 4), np.float64)
    (1, 2, 2)
    >>> layer.forward(np.arange(16.0).reshape(1, 1, 4, 4))
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """

    def _forward(self, x, training):
        out = self._out("out", x.shape[0], self.output_shape, training)
        run(lambda t, a, b: _pool.avgpool_forward(x[a:b], *self.pool_size, *self.stride, out[a:b]),
            self._ranges(x.shape[0]))
        if training:
            self._n = x.shape[0]
        return out

    def backward(self, dout, l2=0.0):
        self._cached("_n")
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        dx = self._out("dx", dout.shape[0], self.input_shape, True)
        run(lambda t, a, b: _pool.avgpool_backward(dout[a:b], *self.pool_size, *self.stride, dx[a:b]),
            self._ranges(dout.shape[0]))
        return dx


class GlobalAvgPool2D(Layer):
    """Global average pooling ``(N, C, H, W) -> (N, C)``: ``y[n, c] = mean_{h, w} x[n, c, h, w]``; backward
    spreads ``dout[n, c] / (H*W)`` over the plane. Replaces ``Flatten`` before a classifier head for any image size.

    Shape: ``(N, C, H, W)`` in, ``(N, C)`` out. No parameters.

    Examples
    --------
    >>> from fastnn.layers import GlobalAvgPool2D
    >>> layer = GlobalAvgPool2D()
    >>> layer.build((2, 3, 3), np.float64)
    (2,)
    >>> layer.forward(np.ones((4, 2, 3, 3))).shape
    (4, 2)
    """

    def _build(self, input_shape, rng):
        C, H, W = image_shape(type(self).__name__, input_shape)
        self._view = (C, H * W)
        return (C,)

    def _forward(self, x, training):
        N = x.shape[0]
        out = self._out("out", N, self.output_shape, training)
        _global_pool.global_avgpool_forward(x.reshape(N, *self._view), out)
        if training:
            self._n = N
        return out

    def backward(self, dout, l2=0.0):
        self._cached("_n")
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        N = dout.shape[0]
        dx = self._out("dx", N, self.input_shape, True)
        _global_pool.global_avgpool_backward(dout, dx.reshape(N, *self._view))
        return dx
