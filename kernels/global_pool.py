"""Global average pooling: ``(N, C, H, W) -> (N, C)``, the mean of each channel's plane.

Kernels take the 3-D view ``x (N, C, S)`` with ``S = H * W`` (one compile per dtype for every image size):
``out[n, c] = sum_s x[n, c, s] / S``; backward ``dx[n, c, s] = dout[n, c] / S``. Sums in float64 with four
interleaved partial sums (a fixed order, so results are deterministic): one running sum would wait on each
addition's latency, and without fastmath LLVM may not reorder the additions itself.
"""
import numpy as np

from ._jit import jit


@jit
def global_avgpool_forward(x, out):
    """``out (N, C)`` = mean over the last axis of ``x (N, C, S)``."""
    N, C, S = x.shape
    S4 = S - S % 4
    for n in range(N):
        for c in range(C):
            a0 = a1 = a2 = a3 = 0.0
            for s in range(0, S4, 4):
                a0 += np.float64(x[n, c, s])
                a1 += np.float64(x[n, c, s + 1])
                a2 += np.float64(x[n, c, s + 2])
                a3 += np.float64(x[n, c, s + 3])
            for s in range(S4, S):
                a0 += np.float64(x[n, c, s])
            out[n, c] = ((a0 + a1) + (a2 + a3)) / S


@jit
def global_avgpool_backward(dout, dx):
    """``dx (N, C, S)``: every cell of channel ``c`` of sample ``n`` gets ``dout[n, c] / S``."""
    N, C, S = dx.shape
    for n in range(N):
        for c in range(C):
            g = dout[n, c] / dx.dtype.type(S)
            for s in range(S):
                dx[n, c, s] = g
