"""Output links: a network's logits to float64 predictions (probabilities, means), row by row.

``code``: ``SOFTMAX`` (``p_ik = exp(z_ik - lse(z_i))``, the log-sum-exp shift keeps it overflow-free), ``LOGISTIC``
(``1 / (1 + exp(-z))`` per output, without overflow), ``EXP`` (Poisson's log link, ``exp(z)``) and ``IDENTITY``.
The arithmetic is float64 whatever the logits' dtype, so a float32 model compiles no float64 kernels to predict.
Logits of +-inf are clipped to +-1e300 first (every difference of two logits stays finite, so an infinitely
confident row keeps its limit probability); a NaN logit has no limit: its row comes out NaN and is reported.
"""
import numpy as np

from ._jit import jit

SOFTMAX, LOGISTIC, EXP, IDENTITY = 0, 1, 2, 3


@jit
def output_link(z, code, out):
    """``out (N, K) float64 = link(z (N, K))``; returns the index of the first row with a NaN logit, or -1."""
    N, K = z.shape
    first_nan = -1
    for i in range(N):
        m = -np.inf
        for k in range(K):
            v = min(max(np.float64(z[i, k]), -1e300), 1e300)
            if np.isnan(v) and first_nan < 0:
                first_nan = i
            out[i, k] = v
            m = max(m, v)
        if code == SOFTMAX:
            s = 0.0
            for k in range(K):
                e = np.exp(out[i, k] - m)
                out[i, k] = e
                s += e
            for k in range(K):
                out[i, k] /= s
        elif code == LOGISTIC:
            for k in range(K):
                v = out[i, k]
                e = np.exp(-abs(v))  # in (0, 1]: never overflows
                out[i, k] = 1.0 / (1.0 + e) if v >= 0 else e / (1.0 + e)
        elif code == EXP:
            for k in range(K):
                out[i, k] = np.exp(out[i, k])
    return first_nan
