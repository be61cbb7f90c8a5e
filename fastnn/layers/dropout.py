"""``Dropout``: inverted dropout while training, the identity at inference."""
import numpy as np

from ..kernels import dropout as _dropout
from .base import Layer


class Dropout(Layer):
    """Inverted dropout: while training, zero each unit with probability ``rate`` and scale the rest by
    ``1 / (1 - rate)``; at inference, the identity. Each training forward draws its mask's seed from a generator
    seeded from the build ``rng``, so a seeded network drops the same units on every run; ``rng_state`` reads and
    restores that generator's state, so that a restored model continues the same masks.

    Parameters
    ----------
    rate : float
        Fraction of inputs zeroed during training, in ``[0, 1)``.

    Examples
    --------
    >>> from fastnn.layers import Dropout
    >>> layer = Dropout(0.5); _ = layer.build((4,), np.float64, np.random.default_rng(0))
    >>> layer.forward(np.ones((1, 4)))   # inference: the identity
    array([[1., 1., 1., 1.]])
    """

    def __init__(self, rate):
        super().__init__()
        if not (0.0 <= rate < 1.0):
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}.")
        self.rate = float(rate)
        self._rng = None

    def _build(self, input_shape, rng):
        self._rng = np.random.default_rng(rng.integers(2**63))
        return input_shape

    @property
    def rng_state(self):
        """The state of the mask generator (``numpy``'s ``bit_generator.state``, plain data); None before ``build``."""
        return None if self._rng is None else self._rng.bit_generator.state

    @rng_state.setter
    def rng_state(self, state):
        self._rng.bit_generator.state = state

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

    def backward(self, dout, l2=0.0):
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        if self._mask is None:
            return dout
        dx = self._out("dx", dout.shape[0], self.input_shape, True)
        _dropout.dropout_backward(dout.reshape(-1), self._mask.reshape(-1), dx.reshape(-1))
        return dx

    def __repr__(self):
        return f"Dropout({self.rate})"
