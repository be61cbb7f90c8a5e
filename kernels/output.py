"""Output links: a network's logits to float64 predictions (probabilities, means), row by row.

One kernel per link, so a fit compiles only the one its loss uses: ``softmax`` (``p_ik = exp(z_ik - max_i) /
sum_k exp(z_ik - max_i)``, overflow-free), ``logistic`` (``1 / (1 + exp(-z))`` per output, without overflow),
``exp`` (Poisson's log link) and ``identity``. The arithmetic is float64 whatever the logits' dtype, so a float32
model compiles no float64 kernels to predict. Logits of +-inf are clipped to +-1e300 first (every difference of two
logits stays finite, so an infinitely confident row keeps its limit probability); a NaN logit has no limit: its row
comes out NaN. Each kernel writes ``out (N, K) float64`` from ``z (N, K)`` and returns the index of the first row
holding a NaN logit, or -1.
"""
import numpy as np

from ._jit import jit


@jit(inline="always")
def clip_rows(z, out):
    """``out = z`` as float64 clipped to +-1e300; returns the index of the first row holding a NaN, or -1."""
    first_nan = -1
    for i in range(z.shape[0]):
        for k in range(z.shape[1]):
            v = min(max(np.float64(z[i, k]), -1e300), 1e300)
            if first_nan < 0 and np.isnan(v):
                first_nan = i
            out[i, k] = v
    return first_nan


@jit
def softmax(z, out):
    first_nan = clip_rows(z, out)
    for i in range(z.shape[0]):
        m = -np.inf
        for k in range(z.shape[1]):
            m = max(m, out[i, k])
        s = 0.0
        for k in range(z.shape[1]):
            e = np.exp(out[i, k] - m)
            out[i, k] = e
            s += e
        for k in range(z.shape[1]):
            out[i, k] /= s
    return first_nan


@jit
def logistic(z, out):
    first_nan = clip_rows(z, out)
    for i in range(z.shape[0]):
        for k in range(z.shape[1]):
            v = out[i, k]
            e = np.exp(-abs(v))  # in (0, 1]: never overflows
            out[i, k] = 1.0 / (1.0 + e) if v >= 0 else e / (1.0 + e)
    return first_nan


@jit
def exp(z, out):
    first_nan = clip_rows(z, out)
    for i in range(z.shape[0]):
        for k in range(z.shape[1]):
            out[i, k] = np.exp(out[i, k])
    return first_nan


@jit
def identity(z, out):
    return clip_rows(z, out)


LINKS = {"softmax": softmax, "logistic": logistic, "exp": exp, "identity": identity}
