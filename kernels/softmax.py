"""The fused softmax / sigmoid cross-entropies, from logits.

Both subtract the row maximum before exponentiating (the log-sum-exp trick,
``lse(z) = m + log(sum(exp(z - m)))`` with ``m = max(z)``), so nothing overflows, and the cross-entropies
are computed as ``lse(z) - z_k`` (softmax) or ``max(z, 0) - z*y + log1p(exp(-|z|))`` (sigmoid): the log of
a probability is never taken, so loss and gradient stay finite for logits of any finite magnitude.

Sample weights ``w`` are 1-D; an empty ``w`` means all ones. The losses are weighted means over samples
(summed over outputs), ``L = sum_i w_i l_i / sum_i w_i``, and write ``dz = dL/dz`` (``dz`` may alias ``z``).
Loss sums are accumulated in float64 whatever the array dtype.
"""
import numpy as np

from ._jit import jit


@jit(inline="always")
def _row_lse(z, i):
    m = z[i, 0]
    for k in range(1, z.shape[1]):
        if z[i, k] > m:
            m = z[i, k]
    s = z.dtype.type(0)
    for k in range(z.shape[1]):
        s += np.exp(z[i, k] - m)
    return m + np.log(s)


@jit(inline="always")
def weight_total(w):
    """``sum(w)`` accumulated in float64 from the first element to the last: the one definition of a batch's
    weight total, shared by the losses and both training paths so that they agree bit for bit."""
    total = 0.0
    for i in range(w.shape[0]):
        total += np.float64(w[i])
    return total


@jit(inline="always")
def inverse_total(w, n):
    """1 / sum(w), or 1 / n for an empty ``w``: the factor of a weighted mean over ``n`` rows."""
    if w.shape[0] == 0:
        return 1.0 / n
    return 1.0 / weight_total(w)


@jit(inline="always")
def row_weight(w, i, inv_total, z):
    """Row ``i``'s share of a weighted mean: ``(w_i, w_i / sum(w))``, the first in float64 (1 for an empty ``w``)
    to weigh the row's loss, the second in ``z``'s dtype to scale its gradient. A loss kernel sums ``w_i * l_i``
    and returns that sum times ``inv_total = inverse_total(w, N)``."""
    wi = 1.0 if w.shape[0] == 0 else np.float64(w[i])
    return wi, z.dtype.type(wi * inv_total)


@jit
def softmax_cross_entropy(z, Y, w, dz):
    """Fused softmax + cross-entropy for target rows ``Y (N, K)`` (one-hot or probabilities).

    ``l_i = sum_k Y_ik (lse(z_i) - z_ik)``; ``dz_ik = (p_ik sum_k Y_ik - Y_ik) w_i / sum(w)``, i.e. ``p - y``
    for one-hot rows.
    """
    N, K = z.shape
    inv_total = inverse_total(w, N)
    loss = 0.0
    for i in range(N):
        lse = _row_lse(z, i)
        wi, scale = row_weight(w, i, inv_total, z)
        ysum = z.dtype.type(0)
        row = 0.0
        for k in range(K):
            ysum += Y[i, k]
            row += np.float64(Y[i, k]) * np.float64(lse - z[i, k])
        loss += wi * row
        for k in range(K):
            dz[i, k] = (np.exp(z[i, k] - lse) * ysum - Y[i, k]) * scale
    return loss * inv_total


@jit
def softmax_cross_entropy_labels(z, labels, w, dz):
    """Fused softmax + cross-entropy for integer class labels ``labels (N,)`` in ``[0, K)``.

    ``l_i = lse(z_i) - z_i[labels_i]``; ``dz = (p - onehot(labels)) w_i / sum(w)``.
    """
    N, K = z.shape
    inv_total = inverse_total(w, N)
    loss = 0.0
    for i in range(N):
        lse = _row_lse(z, i)
        wi, scale = row_weight(w, i, inv_total, z)
        c = labels[i]
        loss += wi * np.float64(lse - z[i, c])
        for k in range(K):
            dz[i, k] = np.exp(z[i, k] - lse) * scale
        dz[i, c] -= scale
    return loss * inv_total


@jit
def sigmoid_cross_entropy(z, Y, w, dz):
    """Fused sigmoid + binary cross-entropy per output (multi-label), summed over outputs.

    ``l_ik = max(z, 0) - z y + log1p(exp(-|z|))``; ``dz_ik = (sigmoid(z_ik) - Y_ik) w_i / sum(w)``.
    """
    N, K = z.shape
    inv_total = inverse_total(w, N)
    zero = z.dtype.type(0)
    one = z.dtype.type(1)
    loss = 0.0
    for i in range(N):
        wi, scale = row_weight(w, i, inv_total, z)
        row = 0.0
        for k in range(K):
            zk = z[i, k]
            e = np.exp(-np.abs(zk))  # in (0, 1]: never overflows
            row += np.float64(max(zk, zero) - zk * Y[i, k] + np.log1p(e))
            p = one / (one + e) if zk >= zero else e / (one + e)
            dz[i, k] = (p - Y[i, k]) * scale
        loss += wi * row
    return loss * inv_total
