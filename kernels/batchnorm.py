"""Batch normalisation, forward (training and inference) and backward.

Every layout comes as a C-contiguous 3-D view ``x (N, C, S)``: features ``(N, F)`` are ``(N, F, 1)``, images
``(N, C, H, W)`` are ``(N, C, H*W)``. Channel ``c`` is normalised over its ``M = N * S`` values:

    mean_c = sum x / M,   var_c = sum (x - mean_c)^2 / M   (biased),   inv_std_c = 1 / sqrt(var_c + eps)
    xhat = (x - mean_c) * inv_std_c,   y = gamma_c * xhat + beta_c

Training also updates the running statistics in place (PyTorch's convention):
``running_mean = (1 - momentum) running_mean + momentum mean_c`` and
``running_var = (1 - momentum) running_var + momentum var_c M / (M - 1)`` (the unbiased variance; needs M >= 2,
which the caller checks).

Inference uses the running statistics; every output is a function of its own input and per-channel constants
only, so a row gives bitwise the same output alone as inside any batch.

Backward (``g = dout``, sums over the channel's M values):
``dbeta_c = sum g``, ``dgamma_c = sum g xhat``, ``dx = gamma_c inv_std_c (g - (dbeta_c + xhat dgamma_c) / M)``.

Sums, means, variances and the per-element arithmetic are in float64 whatever the array dtype; results are
stored in the arrays' dtype. Sums over samples are kept per position of a row flattened to ``J = C * S``
(reduced to channels at the end), so their inner loop is independent across positions and LLVM vectorises it
without reassociating a sum (no fastmath). Elementwise passes loop over channels innermost for features
(``S == 1``) and over the plane with per-channel scalars for images, the vectorisable order for each.
"""
import numpy as np

from ._jit import jit


@jit(inline="always")
def _expand(v, S):
    """The ``(C,)`` vector ``v`` as a float64 ``(C * S,)`` vector, each entry repeated ``S`` times."""
    out = np.empty(v.shape[0] * S)
    for c in range(v.shape[0]):
        for s in range(S):
            out[c * S + s] = v[c]
    return out


@jit(inline="always")
def _to_channels(col, C, S):
    """Sum the ``(C * S,)`` per-position totals ``col`` into ``(C,)`` per-channel totals (float64)."""
    out = np.zeros(C)
    for c in range(C):
        for s in range(S):
            out[c] += col[c * S + s]
    return out


@jit
def batchnorm_forward_train(x, gamma, beta, eps, momentum, running_mean, running_var, mean, var, inv_std, xhat, out):
    """Normalise ``x (N, C, S)`` with its batch statistics into ``out``; cache ``xhat`` (like ``x``) and
    ``inv_std (C,)`` for backward; write the batch ``mean`` and biased ``var`` ``(C,)``; update the running
    statistics. ``N = 0`` leaves every ``(C,)`` array untouched."""
    N, C, S = x.shape
    M, J = N * S, C * S
    if M == 0:
        return
    x2, xhat2, out2 = x.reshape(N, J), xhat.reshape(N, J), out.reshape(N, J)
    col = np.zeros(J)
    for n in range(N):
        for j in range(J):
            col[j] += np.float64(x2[n, j])
    m64 = _to_channels(col, C, S) / M
    mj = _expand(m64, S)
    col[:] = 0.0
    for n in range(N):
        for j in range(J):
            d = np.float64(x2[n, j]) - mj[j]
            col[j] += d * d
    v64 = _to_channels(col, C, S) / M
    istd64 = 1.0 / np.sqrt(v64 + eps)
    unbias = M / (M - 1.0) if M > 1 else np.nan
    for c in range(C):
        mean[c] = m64[c]
        var[c] = v64[c]
        inv_std[c] = istd64[c]
        running_mean[c] = (1.0 - momentum) * np.float64(running_mean[c]) + momentum * m64[c]
        running_var[c] = (1.0 - momentum) * np.float64(running_var[c]) + momentum * v64[c] * unbias
    if S == 1:
        for n in range(N):
            for c in range(C):
                h = (np.float64(x2[n, c]) - m64[c]) * istd64[c]
                xhat2[n, c] = h
                out2[n, c] = np.float64(gamma[c]) * h + np.float64(beta[c])
        return
    for n in range(N):
        for c in range(C):
            mc, kc, gc, bc = m64[c], istd64[c], np.float64(gamma[c]), np.float64(beta[c])
            for s in range(S):
                h = (np.float64(x[n, c, s]) - mc) * kc
                xhat[n, c, s] = h
                out[n, c, s] = gc * h + bc


@jit
def batchnorm_forward_infer(x, gamma, beta, running_mean, running_var, eps, out):
    """``out = gamma_c (x - running_mean_c) / sqrt(running_var_c + eps) + beta_c`` for ``x (N, C, S)``: each
    element from its own value and per-channel constants, so independent of the rest of the batch."""
    N, C, S = x.shape
    J = C * S
    x2, out2 = x.reshape(N, J), out.reshape(N, J)
    istd = np.empty(C)
    for c in range(C):
        istd[c] = 1.0 / np.sqrt(np.float64(running_var[c]) + eps)
    if S == 1:
        for n in range(N):
            for c in range(C):
                h = (np.float64(x2[n, c]) - np.float64(running_mean[c])) * istd[c]
                out2[n, c] = np.float64(gamma[c]) * h + np.float64(beta[c])
        return
    for n in range(N):
        for c in range(C):
            mc, kc, gc, bc = np.float64(running_mean[c]), istd[c], np.float64(gamma[c]), np.float64(beta[c])
            for s in range(S):
                out[n, c, s] = gc * ((np.float64(x[n, c, s]) - mc) * kc) + bc


@jit
def batchnorm_backward(dout, xhat, gamma, inv_std, dgamma, dbeta, dx):
    """Fill ``dgamma``, ``dbeta (C,)`` and, unless ``dx`` is empty (``dx.shape[0] == 0``: no input gradient
    wanted), ``dx (N, C, S)``, from ``dout`` and the forward's ``xhat``/``inv_std``. Never writes into ``dout``."""
    N, C, S = dout.shape
    M, J = N * S, C * S
    g2, xhat2 = dout.reshape(N, J), xhat.reshape(N, J)
    col_g = np.zeros(J)
    col_gh = np.zeros(J)
    for n in range(N):
        for j in range(J):
            g = np.float64(g2[n, j])
            col_g[j] += g
            col_gh[j] += g * np.float64(xhat2[n, j])
    sum_g, sum_gh = _to_channels(col_g, C, S), _to_channels(col_gh, C, S)
    for c in range(C):
        dbeta[c] = sum_g[c]
        dgamma[c] = sum_gh[c]
    if dx.shape[0] == 0 or M == 0:
        return
    k = np.empty(C)
    for c in range(C):
        k[c] = np.float64(gamma[c]) * np.float64(inv_std[c])
        sum_g[c] /= M
        sum_gh[c] /= M
    if S == 1:
        dx2 = dx.reshape(N, J)
        for n in range(N):
            for c in range(C):
                dx2[n, c] = k[c] * (np.float64(g2[n, c]) - sum_g[c] - np.float64(xhat2[n, c]) * sum_gh[c])
        return
    for n in range(N):
        for c in range(C):
            kc, mg, mgh = k[c], sum_g[c], sum_gh[c]
            for s in range(S):
                dx[n, c, s] = kc * (np.float64(dout[n, c, s]) - mg - np.float64(xhat[n, c, s]) * mgh)
