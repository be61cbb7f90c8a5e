"""2-D convolution (cross-correlation, as in every deep-learning library) over NCHW input, as im2col + GEMM.

Shapes: ``x (N, C, H, W)``, weights ``W (F, C, kh, kw)``, bias ``b (F,)``, output ``out (N, F, H', W')`` with
``H' = (H + 2*ph - kh) // sh + 1`` and ``W' = (W + 2*pw - kw) // sw + 1`` (zero padding ``ph, pw``, strides
``sh, sw``)::

    out[n, f, oh, ow] = b[f] + sum_{c, i, j} W[f, c, i, j] * xpad[n, c, oh*sh + i, ow*sw + j]

Layout. With ``K = C*kh*kw`` and ``P = H'*W'`` the column matrix is ``cols (K, N*P)``: row ``k = (c*kh + i)*kw
+ j``, column ``n*P + oh*W' + ow``. Each row is a strided copy of one input plane, so im2col's inner loop is
a contiguous run (stride 1) and the whole batch is one GEMM ``(F, K) @ (K, N*P)``, long enough for BLAS to run
at full speed. The GEMM result ``(F, N*P)`` is moved to NCHW in one pass of contiguous blocks of ``P`` values,
with the bias add fused in. Backward mirrors it: ``dout`` is gathered into ``dout2 (F, N*P)``, whose row sums
are ``db``, ``dW = dout2 @ cols.T``, ``dcols = W.T @ dout2`` and col2im scatters ``dcols`` back into ``dx``.

Every buffer is allocated by the caller. The kernels are serial (no ``prange``): measured in
``benchmarks/cnn_epoch.py``, ``parallel=True`` halved the copy passes on an idle 2-core machine but made
each call wait whole scheduler ticks (4 ms instead of 0.2 ms) as soon as other processes competed for the
cores, and the GEMMs already get their threads from BLAS.
"""
import numpy as np

from ._jit import jit


def out_size(size, k, s, p):
    """Output length of a window ``k`` sliding with stride ``s`` over ``size`` cells padded by ``p`` on both
    sides: ``(size + 2p - k) // s + 1`` (may be < 1 when the window does not fit)."""
    return (size + 2 * p - k) // s + 1


@jit
def _valid_range(n_out, n_in, offset, s):
    """Output positions ``o`` in ``[0, n_out)`` whose input index ``o*s + offset`` lies in ``[0, n_in)``,
    returned as ``lo, hi`` (``hi <= lo`` when none does)."""
    lo = 0
    if offset < 0:
        lo = (-offset + s - 1) // s
    hi = 0
    if n_in - offset > 0:
        hi = (n_in - offset + s - 1) // s
    if hi > n_out:
        hi = n_out
    if lo > hi:
        lo = hi
    return lo, hi


@jit
def im2col(x, kh, kw, sh, sw, ph, pw, cols):
    """Fill ``cols (C*kh*kw, N*H'*W')`` from ``x (N, C, H, W)``: ``cols[(c*kh+i)*kw+j, n*P + oh*W' + ow] =
    xpad[n, c, oh*sh + i, ow*sw + j]``, zero where the window reaches into the padding."""
    N, C, H, W = x.shape
    Ho = (H + 2 * ph - kh) // sh + 1
    Wo = (W + 2 * pw - kw) // sw + 1
    P = Ho * Wo
    zero = x.dtype.type(0)
    for n in range(N):
        for c in range(C):
            for i in range(kh):
                oh_lo, oh_hi = _valid_range(Ho, H, i - ph, sh)
                for j in range(kw):
                    ow_lo, ow_hi = _valid_range(Wo, W, j - pw, sw)
                    row = (c * kh + i) * kw + j
                    base = n * P
                    for oh in range(Ho):
                        start = base + oh * Wo
                        if oh < oh_lo or oh >= oh_hi:
                            for ow in range(Wo):
                                cols[row, start + ow] = zero
                            continue
                        ih = oh * sh + i - ph
                        for ow in range(ow_lo):
                            cols[row, start + ow] = zero
                        for ow in range(ow_lo, ow_hi):
                            cols[row, start + ow] = x[n, c, ih, ow * sw + j - pw]
                        for ow in range(ow_hi, Wo):
                            cols[row, start + ow] = zero


@jit
def col2im(cols, kh, kw, sh, sw, ph, pw, dx):
    """Adjoint of :func:`im2col`: ``dx = 0``, then every ``cols`` entry is added to the input cell it was
    copied from (entries that came from the padding are dropped). ``dx (N, C, H, W)`` gives the geometry."""
    N, C, H, W = dx.shape
    Ho = (H + 2 * ph - kh) // sh + 1
    Wo = (W + 2 * pw - kw) // sw + 1
    P = Ho * Wo
    for n in range(N):
        for c in range(C):
            for ih in range(H):
                for iw in range(W):
                    dx[n, c, ih, iw] = 0
            for i in range(kh):
                oh_lo, oh_hi = _valid_range(Ho, H, i - ph, sh)
                for j in range(kw):
                    ow_lo, ow_hi = _valid_range(Wo, W, j - pw, sw)
                    row = (c * kh + i) * kw + j
                    for oh in range(oh_lo, oh_hi):
                        ih = oh * sh + i - ph
                        start = n * P + oh * Wo
                        for ow in range(ow_lo, ow_hi):
                            dx[n, c, ih, ow * sw + j - pw] += cols[row, start + ow]


@jit
def _gemm_to_nchw(gemm, b, out):
    """``out[n, f, :, :] = gemm[f, n*P:(n+1)*P] + b[f]`` for ``gemm (F, N*P)``, ``out (N, F, H', W')``."""
    N, F, Ho, Wo = out.shape
    P = Ho * Wo
    for n in range(N):
        for f in range(F):
            bias = b[f]
            for oh in range(Ho):
                for ow in range(Wo):
                    out[n, f, oh, ow] = gemm[f, n * P + oh * Wo + ow] + bias


@jit
def _sum_run(a, start, n):
    """``sum(a[start : start + n])`` for 1-D ``a`` with four accumulators (no fastmath, so LLVM would
    otherwise add one element at a time along a single dependency chain)."""
    s0 = s1 = s2 = s3 = a.dtype.type(0)
    stop4 = start + n - n % 4
    for p in range(start, stop4, 4):
        s0 += a[p]
        s1 += a[p + 1]
        s2 += a[p + 2]
        s3 += a[p + 3]
    for p in range(stop4, start + n):
        s0 += a[p]
    return (s0 + s1) + (s2 + s3)


@jit
def _nchw_to_gemm(dout, dout2, db):
    """``dout2[f, n*P + p] = dout[n, f, p]`` for ``dout (N, F, H', W')``, ``dout2 (F, N*P)``, and
    ``db[f] = sum_{n, p} dout[n, f, p]`` from the rows of ``dout2``."""
    N, F, Ho, Wo = dout.shape
    P = Ho * Wo
    for n in range(N):
        for f in range(F):
            for oh in range(Ho):
                for ow in range(Wo):
                    dout2[f, n * P + oh * Wo + ow] = dout[n, f, oh, ow]
    for f in range(F):
        db[f] = _sum_run(dout2[f], 0, N * P)


@jit
def conv_forward(x, W, b, sh, sw, ph, pw, cols, gemm, out):
    """``out = conv(x, W) + b`` (see the module docstring); ``cols (C*kh*kw, N*P)`` and ``gemm (F, N*P)`` are
    work buffers. ``cols`` holds im2col(x) afterwards: keep it for :func:`conv_backward`."""
    F, C, kh, kw = W.shape
    im2col(x, kh, kw, sh, sw, ph, pw, cols)
    np.dot(W.reshape(F, C * kh * kw), cols, gemm)
    _gemm_to_nchw(gemm, b, out)


@jit
def conv_backward(dout, cols, W, alpha, sh, sw, ph, pw, dout2, dcols, dW, db, dx):
    """Gradients of :func:`conv_forward` given ``dout (N, F, H', W')`` and the forward's ``cols``:

    ``dW = dout2 @ cols.T + alpha * W`` (``dout2 (F, N*P)`` is ``dout`` regrouped, a work buffer),
    ``db = dout.sum(axis=(0, 2, 3))``, and, unless ``dx.size == 0`` (a network's first layer),
    ``dx = col2im(W.T @ dout2)`` through the work buffer ``dcols (C*kh*kw, N*P)``.
    ``alpha`` is the L2 penalty's coefficient on the gradient.
    """
    F, C, kh, kw = W.shape
    K = C * kh * kw
    _nchw_to_gemm(dout, dout2, db)
    dW2 = dW.reshape(F, K)
    np.dot(dout2, cols.T, dW2)
    if alpha != 0.0:
        a = W.dtype.type(alpha)
        W2 = W.reshape(F, K)
        for f in range(F):
            for k in range(K):
                dW2[f, k] += a * W2[f, k]
    if dx.size:
        np.dot(W.reshape(F, K).T, dout2, dcols)
        col2im(dcols, kh, kw, sh, sw, ph, pw, dx)
