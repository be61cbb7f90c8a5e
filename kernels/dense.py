"""Affine (dense) layer kernels: ``out = x @ W + b`` and its gradients.

Shapes: ``x (N, n_in)``, ``W (n_in, n_out)``, ``b (n_out,)``, ``out/dout (N, n_out)``. All arrays share one
float dtype and are C-contiguous (``x.T`` views are fine: BLAS takes the transpose flag). The GEMMs go to
BLAS through ``blas.gemm`` (``np.dot(a, b, out)``'s arithmetic, cheaper to compile); the bias and weight-decay
terms are fused passes over the output.
"""
import numpy as np

from ._jit import jit
from .blas import gemm


@jit
def dense_forward(x, W, b, out):
    """``out = x @ W + b``."""
    gemm(x, W, out)
    N, n_out = out.shape
    for i in range(N):
        for j in range(n_out):
            out[i, j] += b[j]


@jit
def dense_backward(x, W, dout, alpha, dW, db, dx):
    """``dW = x.T @ dout + alpha * W``, ``db = sum(dout, axis=0)``, and ``dx = dout @ W.T`` if ``dx.size``.

    Pass an empty ``dx`` (shape ``(0, 0)``) to skip the input gradient, as for a network's first layer.
    ``alpha`` is the L2 penalty's coefficient on the gradient (the caller folds in any 1/N).
    """
    gemm(x.T, dout, dW)
    add_l2_gradient(W, alpha, dW)
    column_sums(dout, db)
    if dx.size:
        gemm(dout, W.T, dx)


@jit(inline="always")
def add_l2_gradient(W, alpha, dW):
    """``dW += alpha * W`` for 2-D ``W``/``dW`` (the gradient of the penalty ``0.5 * alpha * ||W||^2``), with
    ``alpha`` rounded to W's dtype first; nothing for ``alpha == 0``."""
    if alpha != 0.0:
        a = W.dtype.type(alpha)
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                dW[i, j] += a * W[i, j]


@jit(inline="always")
def column_sums(a, out):
    """``out = a.sum(axis=0)`` for a 2-D ``a``, accumulated row by row (cache friendly)."""
    out[:] = 0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[j] += a[i, j]
