"""Regression losses, from the network output (the identity or log-link pre-activation).

Same conventions as ``softmax.py``: weighted mean over samples, summed over outputs; an empty ``w`` means
all ones; ``dz`` receives the gradient (may alias the prediction).
"""
import numpy as np

from ._jit import jit
from .softmax import _inverse_total


@jit
def squared_error(pred, Y, w, dz):
    """``l_i = 0.5 * sum_k (pred_ik - Y_ik)^2``; ``dz = (pred - Y) w_i / sum(w)``."""
    N, K = pred.shape
    inv_total = _inverse_total(w, N)
    loss = 0.0
    for i in range(N):
        wi = 1.0 if w.shape[0] == 0 else np.float64(w[i])
        scale = pred.dtype.type(wi * inv_total)
        row = 0.0
        for k in range(K):
            r = pred[i, k] - Y[i, k]
            row += np.float64(r) * np.float64(r)
            dz[i, k] = r * scale
        loss += wi * 0.5 * row
    return loss * inv_total


@jit
def poisson(z, Y, w, dz):
    """Poisson deviance with a log link, from ``z = log(mean)``.

    ``l_ik = exp(z) - Y z + (Y log Y - Y)`` (the constant makes a perfect fit score 0 and is skipped for Y = 0);
    ``dz = (exp(z) - Y) w_i / sum(w)``.
    """
    N, K = z.shape
    inv_total = _inverse_total(w, N)
    loss = 0.0
    for i in range(N):
        wi = 1.0 if w.shape[0] == 0 else np.float64(w[i])
        scale = z.dtype.type(wi * inv_total)
        row = 0.0
        for k in range(K):
            mu = np.exp(z[i, k])
            y = Y[i, k]
            row += np.float64(mu) - np.float64(y) * np.float64(z[i, k])
            if y > 0:
                row += np.float64(y) * (np.log(np.float64(y)) - 1.0)
            dz[i, k] = (mu - y) * scale
        loss += wi * row
    return loss * inv_total
