"""2-D convolution (cross-correlation, as in every deep-learning library) over NCHW input, as im2col + GEMM.

Shapes: ``x (N, C, H, W)``, weights ``W (F, C, kh, kw)``, bias ``b (F,)``, output ``out (N, F, H', W')`` with
``H' = (H + 2*ph - kh) // sh + 1`` and ``W' = (W + 2*pw - kw) // sw + 1`` (zero padding ``ph, pw``, strides
``sh, sw``)::

    out[n, f, oh, ow] = b[f] + sum_{c, i, j} W[f, c, i, j] * xpad[n, c, oh*sh + i, ow*sw + j]

Layout. With ``K = C*kh*kw`` and ``P = H'*W'`` the column matrix of a chunk of ``nc`` samples is
``cols (K, nc*P)``: row ``k = (c*kh + i)*kw + j``, column ``n*P + oh*W' + ow``. Each row is a strided copy of one
input plane, so im2col's inner loop is a contiguous run (stride 1) and each chunk is one GEMM
``(F, K) @ (K, nc*P)`` over several samples, with ``nc`` chosen by :func:`chunk_samples` so that the chunk's columns
and GEMM result stay in L2. The GEMM result ``(F, nc*P)`` is moved to NCHW in one pass of contiguous blocks of
``P`` values, with the bias add fused in. Backward recomputes each chunk's columns from the input (cheaper than
keeping ``cols`` for the whole batch in memory): ``dout`` is gathered into ``dout2 (F, nc*P)``, whose row sums
are ``db``, ``dW += dout2 @ cols.T``, ``dcols = W.T @ dout2`` and col2im scatters ``dcols`` back into ``dx``.

Stride 1 has a faster path (``pad_input``, ``conv_forward_s1``, ``conv_backward_s1``, described before them):
pad once and compute over the padded width so every column row is one contiguous copy.

Every buffer is allocated by the caller. The kernels are serial (no ``prange``) and release the GIL: the layers
(``fastnn.layers.conv``) split a batch into one sample range per thread and call them from Python threads, each
range with its own buffers and BLAS held at one thread, so one and several threads use the same compiled code.
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
def conv_forward(x, W, b, sh, sw, ph, pw, nc, cols_buf, gemm_buf, out):
    """``out = conv(x, W) + b`` (see the module docstring) in chunks of ``nc`` samples, whose column matrix
    ``cols (C*kh*kw, nc*P)`` and GEMM result ``(F, nc*P)`` stay in cache (:func:`chunk_samples`); ``cols_buf`` and
    ``gemm_buf`` are 1-D work buffers of at least ``K*nc*P`` and ``F*nc*P`` values."""
    N = x.shape[0]
    F, C, kh, kw = W.shape
    K = C * kh * kw
    P = out.shape[2] * out.shape[3]
    W2 = W.reshape(F, K)
    nc = max(nc, 1)
    for n0 in range(0, N, nc):
        n1 = min(N, n0 + nc)
        m = (n1 - n0) * P
        cols = cols_buf[: K * m].reshape(K, m)
        gemm = gemm_buf[: F * m].reshape(F, m)
        im2col(x[n0:n1], kh, kw, sh, sw, ph, pw, cols)
        np.dot(W2, cols, gemm)
        _gemm_to_nchw(gemm, b, out[n0:n1])


@jit
def conv_backward(dout, x, W, alpha, sh, sw, ph, pw, nc, cols_buf, dout2_buf, dcols_buf, dW_tmp, dW, db, dx):
    """Gradients of :func:`conv_forward` given ``dout (N, F, H', W')`` and the forward's input ``x``, in chunks of
    ``nc`` samples whose columns are recomputed from ``x``:

    ``dW = sum_chunks dout2 @ cols.T + alpha * W`` (``dout2 (F, nc*P)`` is the chunk's ``dout`` regrouped),
    ``db = dout.sum(axis=(0, 2, 3))``, and, unless ``dx.size == 0`` (a network's first layer),
    ``dx = col2im(W.T @ dout2)``. Work buffers: 1-D ``cols_buf``, ``dout2_buf``, ``dcols_buf`` (``K*nc*P``,
    ``F*nc*P``, ``K*nc*P`` values; ``dcols_buf`` unused when ``dx`` is empty) and ``dW_tmp (F, K)``.
    ``alpha`` is the L2 penalty's coefficient on the gradient.
    """
    N, F, Ho, Wo = dout.shape
    _, C, kh, kw = W.shape
    K = C * kh * kw
    P = Ho * Wo
    W2 = W.reshape(F, K)
    dW2 = dW.reshape(F, K)
    zero = dout.dtype.type(0)
    _fill(db, zero)
    _fill(dW.reshape(F * K), zero)
    db_tmp = dW_tmp.reshape(F * K)[:F]  # the chunk's db, before dW_tmp receives the chunk's dW
    nc = max(nc, 1)
    for n0 in range(0, N, nc):
        n1 = min(N, n0 + nc)
        m = (n1 - n0) * P
        cols = cols_buf[: K * m].reshape(K, m)
        dout2 = dout2_buf[: F * m].reshape(F, m)
        im2col(x[n0:n1], kh, kw, sh, sw, ph, pw, cols)
        _nchw_to_gemm(dout[n0:n1], dout2, db_tmp)
        _add(db_tmp, db)
        np.dot(dout2, cols.T, dW_tmp)
        _add(dW_tmp.reshape(F * K), dW.reshape(F * K))
        if dx.size:
            dcols = dcols_buf[: K * m].reshape(K, m)
            np.dot(W2.T, dout2, dcols)
            col2im(dcols, kh, kw, sh, sw, ph, pw, dx[n0:n1])
    if alpha != 0.0:
        a = W.dtype.type(alpha)
        for f in range(F):
            for k in range(K):
                dW2[f, k] += a * W2[f, k]


# ------------------------------------------------------------------------------------------------ stride 1
# Fast path for stride 1 (every 'same' convolution), in sample chunks. The input is padded once into
# ``xpad (N, C, L)``: each plane flattened to ``Hp*Wp`` values (``Hp = H + 2ph``, ``Wp = W + 2pw``) plus
# ``kw - 1`` zeros of slack, ``L = Hp*Wp + kw - 1``. Outputs are computed over the padded width: position
# ``q = oh*Wp + ow`` for ``ow < Wp`` (``P1 = H'*Wp`` per sample, of which ``ow >= W'`` are discarded), so the
# column row of ``(c, i, j)`` for sample ``n`` is the single contiguous run ``xpad[n, c, i*Wp + j : ... + P1]``
# instead of ``H'`` runs of ``W'`` values. A chunk of ``nc`` samples gives ``cols (K, nc*P1)`` (sample blocks
# side by side), small enough to stay in L2 while its GEMM ``(F, K) @ (K, nc*P1)`` reads it. The
# ``(W' - Wp)/Wp`` extra columns cost ``2pw/Wp`` more GEMM work (14 % at 14x14 'same'), far less than the
# short-run copies they replace. Backward recomputes each chunk's columns from ``xpad`` (a cache-resident
# copy, cheaper than keeping ``cols`` for the whole batch in memory), with ``dout`` spread over the padded
# width and zeros in the discarded columns, so that ``dW += doutp @ cols.T`` ignores them and the
# ``dcols = W.T @ doutp`` scattered back are exactly zero there; col2im is then one contiguous add per row.


def pad_length(H, W, kh, kw, ph, pw):
    """Per-plane length ``L = (H + 2ph)*(W + 2pw) + kw - 1`` of the padded input of the stride-1 path."""
    return (H + 2 * ph) * (W + 2 * pw) + kw - 1


def chunk_samples(K, F, Ho, Wp, N, target=1 << 17):
    """Samples per chunk for a range of ``N`` (``Wp``: the padded width on the stride-1 path, ``W'`` otherwise):
    keep a chunk's ``cols (K, nc*Ho*Wp)`` and GEMM result ``(F, nc*Ho*Wp)`` together near ``target`` values
    (512 KiB in float32), at least one sample per chunk. ``N`` is accepted for callers that size buffers by it.

    Measured on one thread (CPU time): a 3x3 first layer (K = 9) with 64 filters ran 1.2x faster than when only
    ``cols`` was counted, with 16 filters 1.6x; whole-batch chunks are up to 1.9x slower; a 5x5 32 -> 64 layer
    (K = 800) ran 15 % faster in one-sample chunks than in two. The layers hold BLAS at one thread whenever they
    split a batch, and use one range only when BLAS has one thread, so the number of chunks (BLAS calls) is
    not capped: each call is single-threaded and never waits for a second BLAS thread."""
    return max(1, target // ((K + F) * Ho * Wp))


@jit(inline="always")
def _copy(src, dst):
    """``dst[:] = src`` for 1-D views. Loops that index from zero into 1-D views vectorise; the same copy
    written with offsets into 2-D/3-D arrays ran 10x slower (measured: 1.05 vs 0.11 ms for conv2's im2col)."""
    for q in range(dst.shape[0]):
        dst[q] = src[q]


@jit(inline="always")
def _fill(dst, value):
    for q in range(dst.shape[0]):
        dst[q] = value


@jit(inline="always")
def _add(src, dst):
    """``dst += src`` for 1-D views."""
    for q in range(dst.shape[0]):
        dst[q] += src[q]


@jit(inline="always")
def _copy_bias(src, dst, bias):
    """``dst[:] = src + bias`` for 1-D views."""
    for q in range(dst.shape[0]):
        dst[q] = src[q] + bias


@jit
def pad_input(x, ph, pw, xpad):
    """``xpad[n, c, (h+ph)*Wp + w + pw] = x[n, c, h, w]``, zero elsewhere (border and slack); ``xpad (N, C, L)``."""
    N, C, H, W = x.shape
    Wp = W + 2 * pw
    L = xpad.shape[2]
    zero = x.dtype.type(0)
    for n in range(N):
        for c in range(C):
            plane = xpad[n, c]
            _fill(plane[: ph * Wp + pw], zero)
            for h in range(H):
                base = (h + ph) * Wp + pw
                _copy(x[n, c, h], plane[base : base + W])
                _fill(plane[base + W : base + Wp], zero)  # right border of this row, left border of the next
            _fill(plane[(ph + H) * Wp + pw : L], zero)


@jit
def _im2col_s1(xpad, n0, n1, kh, kw, Wp, P1, cols):
    """``cols[(c*kh + i)*kw + j, (n - n0)*P1 + q] = xpad[n, c, i*Wp + j + q]`` for ``n0 <= n < n1``, ``q < P1``."""
    C = xpad.shape[1]
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j]
                off = i * Wp + j
                for n in range(n0, n1):
                    dst = (n - n0) * P1
                    _copy(xpad[n, c, off : off + P1], row[dst : dst + P1])


@jit
def conv_forward_s1(xpad, W, b, H, Wd, ph, pw, nc, cols_buf, gemm_buf, out):
    """Stride-1 ``out = conv(x, W) + b`` from ``xpad`` (:func:`pad_input`), in chunks of ``nc`` samples.

    ``H, Wd`` are the input's height and width; ``cols_buf`` and ``gemm_buf`` are 1-D work buffers of at
    least ``K*nc*P1`` and ``F*nc*P1`` values (``P1 = H'*(Wd + 2pw)``)."""
    N = xpad.shape[0]
    F, C, kh, kw = W.shape
    K = C * kh * kw
    Wp = Wd + 2 * pw
    Ho, Wo = out.shape[2], out.shape[3]
    P1 = Ho * Wp
    W2 = W.reshape(F, K)
    nc = max(nc, 1)
    for n0 in range(0, N, nc):
        n1 = min(N, n0 + nc)
        m = (n1 - n0) * P1
        cols = cols_buf[: K * m].reshape(K, m)
        gemm = gemm_buf[: F * m].reshape(F, m)
        _im2col_s1(xpad, n0, n1, kh, kw, Wp, P1, cols)
        np.dot(W2, cols, gemm)
        for n in range(n0, n1):
            base = (n - n0) * P1
            for f in range(F):
                g = gemm[f]
                for oh in range(Ho):
                    src = base + oh * Wp
                    _copy_bias(g[src : src + Wo], out[n, f, oh], b[f])


@jit
def conv_backward_s1(dout, xpad, W, alpha, ph, pw, nc, cols_buf, doutp_buf, dcols_buf, dxpad, dW_tmp, dW, db, dx):
    """Gradients of :func:`conv_forward_s1` given ``dout (N, F, H', W')`` and the forward's ``xpad``:
    ``dW = sum_chunks doutp @ cols.T + alpha * W``, ``db = dout.sum(axis=(0, 2, 3))`` and, unless
    ``dx.size == 0``, ``dx = col2im(W.T @ doutp)``.

    Work buffers: 1-D ``cols_buf``, ``doutp_buf``, ``dcols_buf`` (``K*nc*P1``, ``F*nc*P1``, ``K*nc*P1``
    values), ``dxpad (C, L)`` and ``dW_tmp (F, K)`` (used as ``(K, F)`` when ``K >= F``: the chunk's dW is
    then computed transposed, ``cols @ doutp.T``, the orientation BLAS runs faster for these shapes)."""
    N, F, Ho, Wo = dout.shape
    _, C, kh, kw = W.shape
    K = C * kh * kw
    Wp = Wo + kw - 1
    P1 = Ho * Wp
    W2 = W.reshape(F, K)
    dW2 = dW.reshape(F, K)
    zero = dout.dtype.type(0)
    _fill(db, zero)
    _fill(dW.reshape(F * K), zero)
    dflat = dout.reshape(N * F * Ho * Wo)
    nc = max(nc, 1)
    for n0 in range(0, N, nc):
        n1 = min(N, n0 + nc)
        m = (n1 - n0) * P1
        cols = cols_buf[: K * m].reshape(K, m)
        doutp = doutp_buf[: F * m].reshape(F, m)
        _im2col_s1(xpad, n0, n1, kh, kw, Wp, P1, cols)
        for n in range(n0, n1):
            base = (n - n0) * P1
            for f in range(F):
                db[f] += _sum_run(dflat, (n * F + f) * Ho * Wo, Ho * Wo)
                row = doutp[f]
                for oh in range(Ho):
                    dst = base + oh * Wp
                    _copy(dout[n, f, oh], row[dst : dst + Wo])
                    _fill(row[dst + Wo : dst + Wp], zero)
        if K >= F:  # BLAS runs the (K, m) @ (m, F) product faster when K >= F (measured 1.1-1.4x)
            dWt = dW_tmp.reshape(K, F)
            np.dot(cols, doutp.T, dWt)
            for f in range(F):
                for k in range(K):
                    dW2[f, k] += dWt[k, f]
        else:
            np.dot(doutp, cols.T, dW_tmp)
            _add(dW_tmp.reshape(F * K), dW.reshape(F * K))
        if dx.size:
            dcols = dcols_buf[: K * m].reshape(K, m)
            np.dot(W2.T, doutp, dcols)
            for n in range(n0, n1):
                base = (n - n0) * P1
                for c in range(C):
                    plane = dxpad[c]
                    _fill(plane, zero)
                    for i in range(kh):
                        for j in range(kw):
                            off = i * Wp + j
                            _add(dcols[(c * kh + i) * kw + j, base : base + P1], plane[off : off + P1])
                    for h in range(dx.shape[2]):
                        src = (h + ph) * Wp + pw
                        _copy(plane[src : src + dx.shape[3]], dx[n, c, h])
    if alpha != 0.0:
        a = W.dtype.type(alpha)
        for f in range(F):
            for k in range(K):
                dW2[f, k] += a * W2[f, k]
