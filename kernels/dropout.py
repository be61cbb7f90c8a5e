"""Inverted dropout with a counter-based generator: the mask is a pure function of (seed, index).

``keep_i = u_i >= rate`` with ``u_i`` uniform in [0, 1) from SplitMix64 of ``seed + i``; kept units are scaled
by ``1 / (1 - rate)`` so that the expected activation is unchanged and inference needs no rescaling. The same
seed gives the same mask on every platform and thread, independent of NumPy's or Numba's global state.
"""
import numpy as np

from ._jit import jit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@jit
def _uniform(seed, i):
    z = np.uint64(seed) + np.uint64(i + 1) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@jit
def dropout_forward(x, seed, rate, mask, out):
    """Fill ``mask`` (0 or 1/(1-rate)) from ``seed`` and write ``out = x * mask``; 1-D arrays."""
    scale = x.dtype.type(1.0 / (1.0 - rate))
    zero = x.dtype.type(0)
    for i in range(x.shape[0]):
        m = scale if _uniform(seed, i) >= rate else zero
        mask[i] = m
        out[i] = x[i] * m


@jit
def dropout_backward(dout, mask, dx):
    """``dx = dout * mask``."""
    for i in range(dout.shape[0]):
        dx[i] = dout[i] * mask[i]
