"""Regression losses, from the network output (the identity or log-link pre-activation).

Same conventions as ``softmax.py``: weighted mean over samples, summed over outputs; an empty ``w`` means
all ones; ``dz`` receives the gradient (may alias the prediction).
"""
import numpy as np

from ._jit import jit
from .softmax import inverse_total, row_weight


@jit
def squared_error(pred, Y, w, dz):
    """``l_i = 0.5 * sum_k (pred_ik - Y_ik)^2``; ``dz = (pred - Y) w_i / sum(w)``."""
    N, K = pred.shape
    inv_total = inverse_total(w, N)
    loss = 0.0
    for i in range(N):
        wi, scale = row_weight(w, i, inv_total, pred)
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
    inv_total = inverse_total(w, N)
    loss = 0.0
    for i in range(N):
        wi, scale = row_weight(w, i, inv_total, z)
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


@jit
def absolute_error(pred, Y, w, dz):
    """``l_i = sum_k |pred_ik - Y_ik|``; ``dz = sign(pred - Y) w_i / sum(w)``.

    At the kink (``pred == Y``) the subgradient 0 is used (the middle of ``[-1, 1]``); a NaN residual gives a NaN
    gradient (and loss), so a diverged fit is still caught by the finiteness checks.
    """
    N, K = pred.shape
    inv_total = inverse_total(w, N)
    one = pred.dtype.type(1)
    zero = pred.dtype.type(0)
    loss = 0.0
    for i in range(N):
        wi, scale = row_weight(w, i, inv_total, pred)
        row = 0.0
        for k in range(K):
            r = pred[i, k] - Y[i, k]
            row += np.abs(np.float64(r))
            if r > 0:
                g = one
            elif r < 0:
                g = -one
            elif r == 0:
                g = zero
            else:
                g = r  # NaN
            dz[i, k] = g * scale
        loss += wi * row
    return loss * inv_total


@jit
def huber(pred, Y, w, delta, dz):
    """Huber loss with threshold ``delta > 0`` on the residual ``r = pred - Y``:
    ``l_i = sum_k h(r_ik)`` with ``h(r) = 0.5 r^2`` for ``|r| <= delta``, ``delta (|r| - 0.5 delta)`` otherwise;
    ``dz = clip(r, -delta, delta) w_i / sum(w)`` (continuous: no kink in the first derivative).
    """
    N, K = pred.shape
    inv_total = inverse_total(w, N)
    d = pred.dtype.type(delta)
    d64 = np.float64(d)
    loss = 0.0
    for i in range(N):
        wi, scale = row_weight(w, i, inv_total, pred)
        row = 0.0
        for k in range(K):
            r = pred[i, k] - Y[i, k]
            a = np.abs(np.float64(r))
            if a <= d64:
                row += 0.5 * a * a
            else:
                row += d64 * (a - 0.5 * d64)  # NaN lands here too
            g = r
            if r > d:
                g = d
            elif r < -d:
                g = -d
            dz[i, k] = g * scale
        loss += wi * row
    return loss * inv_total
