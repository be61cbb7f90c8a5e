"""Batch normalisation, forward (training and inference) and backward.

Every layout comes as a 3-D view ``x (N, C, S)``: features ``(N, F)`` are ``(N, F, 1)``, images
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
stored in the arrays' dtype. Loops run sample-major so that memory is read in order.
"""
import numpy as np

from ._jit import jit


@jit
def batchnorm_forward_train(x, gamma, beta, eps, momentum, running_mean, running_var, mean, var, inv_std, xhat, out):
    """Normalise ``x (N, C, S)`` with its batch statistics into ``out``; cache ``xhat`` (like ``x``) and
    ``inv_std (C,)`` for backward; write the batch ``mean`` and biased ``var`` ``(C,)``; update the running
    statistics. ``N = 0`` leaves every ``(C,)`` array untouched."""
    N, C, S = x.shape
    M = N * S
    if M == 0:
        return
    m64 = np.zeros(C)
    v64 = np.zeros(C)
    for n in range(N):
        for c in range(C):
            acc = 0.0
            for s in range(S):
                acc += np.float64(x[n, c, s])
            m64[c] += acc
    for c in range(C):
        m64[c] /= M
    for n in range(N):
        for c in range(C):
            acc = 0.0
            for s in range(S):
                d = np.float64(x[n, c, s]) - m64[c]
                acc += d * d
            v64[c] += acc
    unbias = M / (M - 1.0) if M > 1 else np.nan
    for c in range(C):
        v64[c] /= M
        mean[c] = m64[c]
        var[c] = v64[c]
        inv_std[c] = 1.0 / np.sqrt(v64[c] + eps)
        running_mean[c] = (1.0 - momentum) * np.float64(running_mean[c]) + momentum * m64[c]
        running_var[c] = (1.0 - momentum) * np.float64(running_var[c]) + momentum * v64[c] * unbias
        v64[c] = 1.0 / np.sqrt(v64[c] + eps)  # from here on: inv_std in float64
    for n in range(N):
        for c in range(C):
            mc, istd, g, b = m64[c], v64[c], np.float64(gamma[c]), np.float64(beta[c])
            for s in range(S):
                h = (np.float64(x[n, c, s]) - mc) * istd
                xhat[n, c, s] = h
                out[n, c, s] = g * h + b


@jit
def batchnorm_forward_infer(x, gamma, beta, running_mean, running_var, eps, out):
    """``out = gamma_c (x - running_mean_c) / sqrt(running_var_c + eps) + beta_c`` for ``x (N, C, S)``: each
    element from its own value and per-channel constants, so independent of the rest of the batch."""
    N, C, S = x.shape
    istd = np.empty(C)
    for c in range(C):
        istd[c] = 1.0 / np.sqrt(np.float64(running_var[c]) + eps)
    for n in range(N):
        for c in range(C):
            mc, k, g, b = np.float64(running_mean[c]), istd[c], np.float64(gamma[c]), np.float64(beta[c])
            for s in range(S):
                out[n, c, s] = g * ((np.float64(x[n, c, s]) - mc) * k) + b


@jit
def batchnorm_backward(dout, xhat, gamma, inv_std, dgamma, dbeta, dx):
    """Fill ``dgamma``, ``dbeta (C,)`` and, unless ``dx`` is empty (``dx.shape[0] == 0``: no input gradient
    wanted), ``dx (N, C, S)``, from ``dout`` and the forward's ``xhat``/``inv_std``. Never writes into ``dout``."""
    N, C, S = dout.shape
    M = N * S
    sum_g = np.zeros(C)
    sum_gh = np.zeros(C)
    for n in range(N):
        for c in range(C):
            a = 0.0
            b = 0.0
            for s in range(S):
                g = np.float64(dout[n, c, s])
                a += g
                b += g * np.float64(xhat[n, c, s])
            sum_g[c] += a
            sum_gh[c] += b
    for c in range(C):
        dbeta[c] = sum_g[c]
        dgamma[c] = sum_gh[c]
    if dx.shape[0] == 0 or M == 0:
        return
    for c in range(C):
        sum_g[c] /= M
        sum_gh[c] /= M
    for n in range(N):
        for c in range(C):
            k = np.float64(gamma[c]) * np.float64(inv_std[c])
            mg, mgh = sum_g[c], sum_gh[c]
            for s in range(S):
                dx[n, c, s] = k * (np.float64(dout[n, c, s]) - mg - np.float64(xhat[n, c, s]) * mgh)
