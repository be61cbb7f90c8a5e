"""2-D convolution (cross-correlation, as in every deep-learning library) over NCHW input, as im2col + GEMM.

Shapes: ``x (N, C, H, W)``, weights ``W (F, C, kh, kw)``, bias ``b (F,)``, output ``out (N, F, H', W')`` with
``H' = (H + 2*ph - kh) // sh + 1`` and ``W' = (W + 2*pw - kw) // sw + 1`` (zero padding ``ph, pw``, strides
``sh, sw``)::

    out[n, f, oh, ow] = b[f] + sum_{c, i, j} W[f, c, i, j] * xpad[n, c, oh*sh + i, ow*sw + j]

Both paths pad the input once, then run im2col + one GEMM per chunk of samples; backward recomputes each
chunk's columns from the padded input (cheaper than keeping the whole batch's columns in memory). The layer
(``fastnn.layers.conv``) picks the path:

- channels last (``pad_nhwc``, ``conv_forward_cl``, ``conv_backward_cl``): every stride, and stride 1 when the
  input has many channels. A column row is one output position, ``kh`` contiguous runs of ``kw*C`` values, and
  the GEMM ``(nc*P, K) @ (K, F)`` is large in both dimensions;
- stride 1 over the padded width (``pad_input``, ``conv_forward_s1``, ``conv_backward_s1``): stride-1 layers
  with few input channels (first layers), where channels-last runs would be a few values long. A column row is
  one input plane's contiguous run, the GEMM ``(F, K) @ (K, nc*P1)``.

Every buffer is allocated by the caller. The kernels are serial (no ``prange``) and release the GIL: the layers
split a batch into one sample range per thread and call them from Python threads, each range with its own
buffers and BLAS held at one thread, so one and several threads use the same compiled code.
"""
import numpy as np

from ._jit import jit
from .blas import gemm


def out_size(size, k, s, p):
    """Output length of a window ``k`` sliding with stride ``s`` over ``size`` cells padded by ``p`` on both
    sides: ``(size + 2p - k) // s + 1`` (may be < 1 when the window does not fit)."""
    return (size + 2 * p - k) // s + 1


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


# ------------------------------------------------------------------------------------------------ stride 1
# Stride-1 layers with few input channels (first layers), in sample chunks. The input is padded once into
# ``xpad (N, C, L)``: each plane flattened to ``Hp*Wp`` values (``Hp = H + 2ph``, ``Wp = W + 2pw``) plus
# ``kw - 1`` zeros of slack, ``L = Hp*Wp + kw - 1``. Outputs are computed over the padded width: position
# ``q = oh*Wp + ow`` for ``ow < Wp`` (``P1 = H'*Wp`` per sample, of which ``ow >= W'`` are discarded), so the
# column row of ``(c, i, j)`` for sample ``n`` is the single contiguous run ``xpad[n, c, i*Wp + j : ... + P1]``
# instead of ``H'`` runs of ``W'`` values. A chunk of ``nc`` samples gives ``cols (K, nc*P1)`` (sample blocks
# side by side), small enough to stay in L2 while its GEMM ``(F, K) @ (K, nc*P1)`` reads it. The
# ``(W' - Wp)/Wp`` extra columns cost ``2pw/Wp`` more GEMM work (14 % at 14x14 'same'), far less than the
# short-run copies they replace. Backward spreads ``dout`` over the padded width with zeros in the discarded
# columns (``doutp``): the weight gradient is then dot products of ``doutp`` rows with shifted runs of ``xpad``
# (``weight_grad_s1``, no columns), and for ``dx`` each chunk's columns are recomputed from ``xpad`` (cheaper
# than keeping ``cols`` for the whole batch in memory), so that the ``dcols = W.T @ doutp`` scattered back are
# exactly zero in the discarded columns; col2im is then one contiguous add per row.


def pad_length(H, W, kh, kw, ph, pw):
    """Per-plane length ``L = (H + 2ph)*(W + 2pw) + kw - 1`` of the padded input of the stride-1 path."""
    return (H + 2 * ph) * (W + 2 * pw) + kw - 1


def chunk_samples(K, F, Ho, Wp, N, target=1 << 17):
    """Samples per chunk of the padded-width path for a range of ``N`` (``Wp``: the padded width): keep a chunk's ``cols (K, nc*Ho*Wp)`` and GEMM result ``(F, nc*Ho*Wp)`` together near ``target`` values
    (512 KiB in float32), at least one sample per chunk. ``N`` is accepted for callers that size buffers by it.

    Measured on one thread (CPU time): a 3x3 first layer (K = 9) with 64 filters ran 1.2x faster than when only
    ``cols`` was counted, with 16 filters 1.6x; whole-batch chunks are up to 1.9x slower. The layers hold BLAS at
    one thread whenever they split a batch, and use one range only when BLAS has one thread, so the number of
    chunks (BLAS calls) is not capped: each call is single-threaded and never waits for a second BLAS thread."""
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
        prod = gemm_buf[: F * m].reshape(F, m)
        _im2col_s1(xpad, n0, n1, kh, kw, Wp, P1, cols)
        gemm(W2, cols, prod)
        for n in range(n0, n1):
            base = (n - n0) * P1
            for f in range(F):
                g = prod[f]
                for oh in range(Ho):
                    src = base + oh * Wp
                    _copy_bias(g[src : src + Wo], out[n, f, oh], b[f])


@jit(fastmath={"reassoc", "contract"})
def weight_grad_s1(doutp, base, P1, xpad, kh, kw, Wp, dW):
    """``dW[f, (c*kh + i)*kw + j] += sum_q doutp[f, base + q] * xpad[c, i*Wp + j + q]`` over ``q < P1`` for one
    sample: ``doutp[:, base : base + P1]`` is its ``dout`` over the padded width (zeros in the discarded columns),
    ``xpad (C, L)`` its padded input, ``dW (F, K)``. The rows are sliced here, from C-contiguous arrays, so that
    Numba knows them contiguous (rows of a column slice ``doutp[:, a:b]`` are typed strided: 3-4x slower).

    The weight gradient of the stride-1 path without im2col: each entry is a dot product of a ``dout`` row with a
    shifted run of the padded input, computed for 4 filters x 4 taps at once (16 sums over 8 loaded rows) and
    vectorised by reassociating the sums (``fastmath`` reassoc/contract for this kernel alone: no NaN or inf
    assumptions). A GEMM of this shape (``(F, m) @ (m, K)``, ``F*K`` small, ``m`` long) runs OpenBLAS at 10-40
    GFLOP/s on one core; this runs 66-91 (measured for 1 and 3 channels, 3x3 and 5x5, 16-32 filters)."""
    F = doutp.shape[0]
    khw = kh * kw
    K = xpad.shape[0] * khw
    zero = doutp.dtype.type(0)
    for f in range(0, F - F % 4, 4):
        d0, d1 = doutp[f, base : base + P1], doutp[f + 1, base : base + P1]
        d2, d3 = doutp[f + 2, base : base + P1], doutp[f + 3, base : base + P1]
        for t in range(0, K, 4):
            if t + 4 <= K:
                x0 = _tap(xpad, t, khw, kw, Wp, P1)
                x1 = _tap(xpad, t + 1, khw, kw, Wp, P1)
                x2 = _tap(xpad, t + 2, khw, kw, Wp, P1)
                x3 = _tap(xpad, t + 3, khw, kw, Wp, P1)
                s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
                s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
                for q in range(P1):
                    a0, a1, a2, a3 = d0[q], d1[q], d2[q], d3[q]
                    b0, b1, b2, b3 = x0[q], x1[q], x2[q], x3[q]
                    s00 += a0 * b0
                    s01 += a0 * b1
                    s02 += a0 * b2
                    s03 += a0 * b3
                    s10 += a1 * b0
                    s11 += a1 * b1
                    s12 += a1 * b2
                    s13 += a1 * b3
                    s20 += a2 * b0
                    s21 += a2 * b1
                    s22 += a2 * b2
                    s23 += a2 * b3
                    s30 += a3 * b0
                    s31 += a3 * b1
                    s32 += a3 * b2
                    s33 += a3 * b3
                dW[f, t] += s00
                dW[f, t + 1] += s01
                dW[f, t + 2] += s02
                dW[f, t + 3] += s03
                dW[f + 1, t] += s10
                dW[f + 1, t + 1] += s11
                dW[f + 1, t + 2] += s12
                dW[f + 1, t + 3] += s13
                dW[f + 2, t] += s20
                dW[f + 2, t + 1] += s21
                dW[f + 2, t + 2] += s22
                dW[f + 2, t + 3] += s23
                dW[f + 3, t] += s30
                dW[f + 3, t + 1] += s31
                dW[f + 3, t + 2] += s32
                dW[f + 3, t + 3] += s33
            else:  # the last K % 4 taps, 4 filters at a time
                for u in range(t, K):
                    x0 = _tap(xpad, u, khw, kw, Wp, P1)
                    s0 = s1 = s2 = s3 = zero
                    for q in range(P1):
                        b = x0[q]
                        s0 += d0[q] * b
                        s1 += d1[q] * b
                        s2 += d2[q] * b
                        s3 += d3[q] * b
                    dW[f, u] += s0
                    dW[f + 1, u] += s1
                    dW[f + 2, u] += s2
                    dW[f + 3, u] += s3
    for f in range(F - F % 4, F):  # the last F % 4 filters, one sum at a time
        for u in range(K):
            x0 = _tap(xpad, u, khw, kw, Wp, P1)
            d0 = doutp[f, base : base + P1]
            s0 = zero
            for q in range(P1):
                s0 += d0[q] * x0[q]
            dW[f, u] += s0


@jit(inline="always")
def _tap(xpad, t, khw, kw, Wp, P1):
    """The run of ``xpad`` that tap ``t = (c*kh + i)*kw + j`` multiplies: ``xpad[c, i*Wp + j : ... + P1]``."""
    c, r = t // khw, t % khw
    off = (r // kw) * Wp + r % kw
    return xpad[c, off : off + P1]


@jit
def conv_backward_s1(dout, xpad, W, alpha, ph, pw, nc, cols_buf, doutp_buf, dcols_buf, dxpad, dW, db, dx):
    """Gradients of :func:`conv_forward_s1` given ``dout (N, F, H', W')`` and the forward's ``xpad``:
    ``dW = sum_n weight_grad_s1(doutp_n, xpad_n) + alpha * W``, ``db = dout.sum(axis=(0, 2, 3))`` and, unless
    ``dx.size == 0``, ``dx = col2im(W.T @ doutp)`` (im2col and a GEMM per chunk, for ``dx`` alone).

    Work buffers: 1-D ``doutp_buf`` (``F*nc*P1`` values) and, unless ``dx.size == 0``, ``cols_buf``,
    ``dcols_buf`` (``K*nc*P1`` values each) and ``dxpad (C, L)``."""
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
        doutp = doutp_buf[: F * m].reshape(F, m)
        for n in range(n0, n1):
            base = (n - n0) * P1
            for f in range(F):
                db[f] += _sum_run(dflat, (n * F + f) * Ho * Wo, Ho * Wo)
                row = doutp[f]
                for oh in range(Ho):
                    dst = base + oh * Wp
                    _copy(dout[n, f, oh], row[dst : dst + Wo])
                    _fill(row[dst + Wo : dst + Wp], zero)
        for n in range(n0, n1):  # after the chunk's copies: with the call inside their loop they ran 1.4x slower
            weight_grad_s1(doutp, (n - n0) * P1, P1, xpad[n], kh, kw, Wp, dW2)
        if dx.size:
            cols = cols_buf[: K * m].reshape(K, m)
            _im2col_s1(xpad, n0, n1, kh, kw, Wp, P1, cols)
            dcols = dcols_buf[: K * m].reshape(K, m)
            gemm(W2.T, doutp, dcols)
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


# ------------------------------------------------------------------------------------------------ channels last
# The input is padded once into ``xp (N, Hp, Wp, C)`` (channels last, ``Hp = H + 2ph``, ``Wp = W + 2pw``), so the
# window of output ``(oh, ow)`` is ``kh`` contiguous runs of ``kw*C`` values, ``xp[n, oh*sh + i, ow*sw : ow*sw +
# kw, :]``, at any stride. A chunk of ``nc`` samples gives ``cols (nc*P, K)``, one row per output position
# (``P = H'*W'``, no discarded columns), ``K = kh*kw*C`` ordered ``(i, j, c)``, and one GEMM
# ``(nc*P, K) @ (K, F)`` with the weights as ``Wr (F, K)`` in the same order, transposed in the call. Its result
# ``(nc*P, F)`` goes to NCHW in one transposing pass with the bias added. Backward transposes the chunk's ``dout``
# into ``doutT (nc*P, F)``: ``dW += doutT.T @ cols``, ``dcols = doutT @ Wr``, and col2im adds each row's runs
# back into a padded channels-last sample, which is moved to NCHW. Measured on one thread for the 5x5 32 -> 64
# layer on 14x14: the forward GEMM runs at 95-98 GFLOP/s, backward-data's at 95-100 and backward-weights' at
# 85-88 (OpenBLAS's sgemm peaks at 106 on this core), against 77-84 for the padded-width path's
# ``(F, K) @ (K, P1)`` GEMMs, which also compute 28 % discarded columns there.


def chunk_rows(P, N, target=256):
    """Samples per chunk of the channels-last path for a range of ``N``: GEMMs of about ``target`` rows (``nc*P``),
    at least one sample, at most ``N``. Measured on one thread (CPU time): the backward of 3x3 16 -> 32 on 14x14
    ran 1.3x faster in one-sample chunks than in two (its weight GEMM, reducing over ``nc*P``, drops from 110 to
    70 GFLOP/s); 5x5 32 -> 64 and 3x3 32 -> 64 were within 3 % from one to four samples; a stride-2 layer with
    ``P = 49`` was 5 % slower forward below about 200 rows."""
    return max(1, min(N, target // P))


@jit
def pad_nhwc(x, ph, pw, xp):
    """``xp[n, h + ph, w + pw, c] = x[n, c, h, w]``, zero on the border; ``xp (N, H + 2ph, W + 2pw, C)``."""
    N, C, H, W = x.shape
    Hp, Wp = xp.shape[1], xp.shape[2]
    zero = x.dtype.type(0)
    for n in range(N):
        flat = xp[n].reshape(Hp, Wp * C)
        for h in range(Hp):
            if h < ph or h >= ph + H:
                _fill(flat[h], zero)
                continue
            row = flat[h]
            _fill(row[: pw * C], zero)
            _fill(row[(pw + W) * C :], zero)
            for c in range(C):
                src = x[n, c, h - ph]
                for w in range(W):
                    row[(w + pw) * C + c] = src[w]


@jit
def weights_cl(W, Wr):
    """``Wr[f, (i*kw + j)*C + c] = W[f, c, i, j]``: the weights in the column order of the channels-last path."""
    F, C, kh, kw = W.shape
    for f in range(F):
        for c in range(C):
            for i in range(kh):
                for j in range(kw):
                    Wr[f, (i * kw + j) * C + c] = W[f, c, i, j]


@jit
def _im2col_cl(xp, n0, n1, kh, kw, sh, sw, Ho, Wo, cols):
    """``cols[(n - n0)*P + oh*W' + ow, (i*kw + j)*C + c] = xp[n, oh*sh + i, ow*sw + j, c]`` for ``n0 <= n < n1``."""
    Hp, Wp, C = xp.shape[1], xp.shape[2], xp.shape[3]
    run = kw * C
    for n in range(n0, n1):
        xf = xp[n].reshape(Hp, Wp * C)
        base = (n - n0) * Ho * Wo
        for oh in range(Ho):
            for ow in range(Wo):
                row = cols[base + oh * Wo + ow]
                start = ow * sw * C
                for i in range(kh):
                    _copy(xf[oh * sh + i, start : start + run], row[i * run : (i + 1) * run])


@jit(inline="always")
def _rows_to_planes(rows, b, planes):
    """``planes[f, p] = rows[p, f] + b[f]`` for ``rows (P, F)``, ``planes (F, P)``. Row by row (contiguous reads)
    unless ``P`` is a multiple of 64: then the ``F`` planes, 256 bytes apart or a multiple of that, collide in the
    cache and plane by plane is faster (measured per batch: P = 196, F = 64 0.13 against 0.25 ms; P = 256 1.0
    against 0.65; P = 1024, F = 32 6.7 against 1.4)."""
    P, F = rows.shape
    if P % 64 == 0:
        for f in range(F):
            bias = b[f]
            plane = planes[f]
            for p in range(P):
                plane[p] = rows[p, f] + bias
    else:
        for p in range(P):
            row = rows[p]
            for f in range(F):
                planes[f, p] = row[f] + b[f]


@jit(inline="always")
def _planes_to_rows(planes, rows):
    """``rows[p, f] = planes[f, p]``, the transpose of :func:`_rows_to_planes` (without bias), same loop orders."""
    P, F = rows.shape
    if P % 64 == 0:
        for f in range(F):
            plane = planes[f]
            for p in range(P):
                rows[p, f] = plane[p]
    else:
        for p in range(P):
            row = rows[p]
            for f in range(F):
                row[f] = planes[f, p]


@jit
def conv_forward_cl(xp, W, b, sh, sw, nc, Wr, cols_buf, gemm_buf, out):
    """``out = conv(x, W) + b`` from ``xp`` (:func:`pad_nhwc`) in chunks of ``nc`` samples. Work buffers:
    ``Wr (F, K)`` and 1-D ``cols_buf``, ``gemm_buf`` of at least ``nc*P*K`` and ``nc*P*F`` values."""
    N = xp.shape[0]
    F, C, kh, kw = W.shape
    K = C * kh * kw
    Ho, Wo = out.shape[2], out.shape[3]
    P = Ho * Wo
    weights_cl(W, Wr)
    nc = max(nc, 1)
    for n0 in range(0, N, nc):
        n1 = min(N, n0 + nc)
        m = (n1 - n0) * P
        cols = cols_buf[: m * K].reshape(m, K)
        prod = gemm_buf[: m * F].reshape(m, F)
        _im2col_cl(xp, n0, n1, kh, kw, sh, sw, Ho, Wo, cols)
        gemm(cols, Wr.T, prod)
        for n in range(n0, n1):
            _rows_to_planes(prod[(n - n0) * P : (n - n0 + 1) * P], b, out[n].reshape(F, P))


@jit
def conv_backward_cl(dout, xp, W, alpha, sh, sw, ph, pw, nc, Wr, cols_buf, doutT_buf, dcols_buf, dxp, dW_tmp,
                     dWr, dW, db, dx):
    """Gradients of :func:`conv_forward_cl` given ``dout (N, F, H', W')`` and the forward's ``xp``:
    ``dW = sum_chunks doutT.T @ cols + alpha * W``, ``db = dout.sum(axis=(0, 2, 3))`` and, unless
    ``dx.size == 0``, ``dx = col2im(doutT @ Wr)``. Work buffers: ``Wr (F, K)``, 1-D ``cols_buf``, ``doutT_buf``,
    ``dcols_buf`` (``nc*P*K``, ``nc*P*F``, ``nc*P*K`` values; ``dcols_buf`` unused when ``dx`` is empty),
    ``dxp (Hp, Wp, C)`` (one padded sample), ``dW_tmp`` and ``dWr (F, K)`` (the chunk's and the sum's weight
    gradient in the columns' order, reordered into ``dW`` once at the end)."""
    N, F, Ho, Wo = dout.shape
    _, C, kh, kw = W.shape
    K = C * kh * kw
    P = Ho * Wo
    Hp, Wp = xp.shape[1], xp.shape[2]
    H, Wd = Hp - 2 * ph, Wp - 2 * pw
    run = kw * C
    zero = dout.dtype.type(0)
    weights_cl(W, Wr)
    _fill(db, zero)
    _fill(dWr.reshape(F * K), zero)
    dflat = dout.reshape(N * F * P)
    nc = max(nc, 1)
    for n0 in range(0, N, nc):
        n1 = min(N, n0 + nc)
        m = (n1 - n0) * P
        cols = cols_buf[: m * K].reshape(m, K)
        doutT = doutT_buf[: m * F].reshape(m, F)
        _im2col_cl(xp, n0, n1, kh, kw, sh, sw, Ho, Wo, cols)
        for n in range(n0, n1):
            for f in range(F):
                db[f] += _sum_run(dflat, (n * F + f) * P, P)
            _planes_to_rows(dout[n].reshape(F, P), doutT[(n - n0) * P : (n - n0 + 1) * P])
        gemm(doutT.T, cols, dW_tmp)
        _add(dW_tmp.reshape(F * K), dWr.reshape(F * K))
        if dx.size:
            dcols = dcols_buf[: m * K].reshape(m, K)
            gemm(doutT, Wr, dcols)
            dxf = dxp.reshape(Hp, Wp * C)
            for n in range(n0, n1):
                _fill(dxp.reshape(Hp * Wp * C), zero)
                base = (n - n0) * P
                for oh in range(Ho):
                    for ow in range(Wo):
                        row = dcols[base + oh * Wo + ow]
                        start = ow * sw * C
                        for i in range(kh):
                            _add(row[i * run : (i + 1) * run], dxf[oh * sh + i, start : start + run])
                for c in range(C):
                    for h in range(H):
                        src = dxp[h + ph]
                        dst = dx[n, c, h]
                        for w in range(Wd):
                            dst[w] = src[w + pw, c]
    for f in range(F):
        for c in range(C):
            for i in range(kh):
                for j in range(kw):
                    dW[f, c, i, j] = dWr[f, (i * kw + j) * C + c]
    if alpha != 0.0:
        a = W.dtype.type(alpha)
        for f in range(F):
            for c in range(C):
                for i in range(kh):
                    for j in range(kw):
                        dW[f, c, i, j] += a * W[f, c, i, j]
