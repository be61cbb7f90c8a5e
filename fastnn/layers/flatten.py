"""``Flatten``: images to feature rows."""
import numpy as np

from .base import Layer


class Flatten(Layer):
    """``(N, d1, d2, ...) -> (N, d1 * d2 * ...)``; a view, no copy for C-contiguous input.

    Shape: ``(N, *shape)`` in, ``(N, prod(shape))`` out. No parameters.

    Examples
    --------
    >>> from fastnn.layers import Flatten
    >>> layer = Flatten()
    >>> layer.build((2, 3, 3), np.float32)
    (18,)
    >>> layer.forward(np.zeros((5, 2, 3, 3), np.float32)).shape
    (5, 18)
    """

    def _build(self, input_shape, rng):
        return (int(np.prod(input_shape)),)

    def _forward(self, x, training):
        return x.reshape(x.shape[0], *self.output_shape)  # not -1: an empty batch has no size to infer from

    def backward(self, dout, l2=0.0):
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        return dout.reshape(dout.shape[0], *self.input_shape)
