"""2-D convolution (cross-correlation, as in every deep-learning library) over NCHW input, as im2col + GEMM.

Shapes: ``x (N, C, H, W)``, weights ``W (F, C, kh, kw)``, bias ``b (F,)``, output ``out (N, F, H', W')`` with
``H' = (H + 2*ph - kh) // sh + 1`` and ``W' = (W + 2*pw - kw) // sw + 1`` (zero padding ``ph, pw``, strides
``sh, sw``)::

    out[n, f, oh, ow] = b[f] + sum_{c, i, j} W[f, c, i, j] * xpad[n, c, oh*sh + i, ow*sw + j]

Every path pads the input once, then runs im2col + one GEMM per chunk of samples; backward recomputes each
chunk's columns from the padded input (cheaper than keeping the whole batch's columns in memory). The layer
(``fastnn.layers.conv``) picks the path:

- channels last (``pad_nhwc``, ``conv_forward_cl``, ``conv_backward_cl``): every stride, and stride 1 when the
  input has many channels or small images. A column row is one output position, ``kh`` contiguous runs of
  ``kw*C`` values, and the GEMM ``(nc*P, K) @ (K, F)`` is large in both dimensions;
- transposed channels-last columns (``pad_nhwc``, ``conv_forward_clt``, ``conv_backward_clt`` and, for a layer
  that needs the input gradient, ``conv_backward_data_clt``): stride-1 layers of one input channel on larger
  images (first layers of MNIST-like images). A transposed column row is one contiguous run along an output row,
  the GEMM ``(F, K) @ (K, nc*P)``;
- stride 1 over the padded width (``pad_input``, ``conv_forward_s1``, ``conv_backward_s1`` and, for a layer
  that needs the input gradient, ``conv_backward_data_s1``): stride-1 layers of 2-15 input channels on larger
  images (first layers of colour images), where channels-last runs would be a few values long. A column row is
  one input plane's contiguous run, the GEMM ``(F, K) @ (K, nc*P1)``.

A network's inference runs its conv stacks channels last from end to end, with kernels of its own
(``conv_infer_cl``, ``pad_cl``; see the last section).

Every buffer is allocated by the caller. The kernels are serial (no ``prange``) and release the GIL: the layers
split a batch into one sample range per thread and call them from Python threads, each range with its own
buffers and BLAS held at one thread, so one and several threads use the same compiled code.
"""
import numpy as np

from ._jit import jit
from .activations import _forward as activation
from .blas import gemm
from .codes import RELU


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
# short-run copies they replace. Backward recomputes each chunk's columns from ``xpad`` (a cache-resident
# copy, cheaper than keeping ``cols`` for the whole batch in memory), with ``dout`` spread over the padded
# width and zeros in the discarded columns, so that ``dW += doutp @ cols.T`` ignores them and the
# ``dcols = W.T @ doutp`` scattered back are exactly zero there; col2im is then one contiguous add per row.


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
    """``xpad[n, c, (h+ph)*Wp + w + pw] = x[n, c, h, w]``, zero elsewhere (border and slack); ``xpad (N, C, L)``.
    Each plane is zeroed whole, then its rows are copied: two inlined loops instead of four (each costs about
    0.1 s of compile time; the kernel compiled in 0.39 s and now in 0.20 s, for a few per cent more writes)."""
    N, C, H, W = x.shape
    Wp = W + 2 * pw
    zero = x.dtype.type(0)
    for n in range(N):
        for c in range(C):
            plane = xpad[n, c]
            _fill(plane, zero)
            for h in range(H):
                base = (h + ph) * Wp + pw
                _copy(x[n, c, h], plane[base : base + W])


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


@jit(inline="always")
def _spread_dout(dout, n0, n1, Wp, doutp):
    """``doutp (F, (n1 - n0)*P1)``: the chunk's ``dout`` over the padded width, zeros in the discarded columns."""
    F, Ho, Wo = dout.shape[1], dout.shape[2], dout.shape[3]
    P1 = Ho * Wp
    zero = dout.dtype.type(0)
    for n in range(n0, n1):
        base = (n - n0) * P1
        for f in range(F):
            row = doutp[f]
            for oh in range(Ho):
                dst = base + oh * Wp
                _copy(dout[n, f, oh], row[dst : dst + Wo])
                _fill(row[dst + Wo : dst + Wp], zero)


@jit
def conv_backward_s1(dout, xpad, kh, kw, nc, cols_buf, doutp_buf, dW_tmp, dW, db):
    """Weight and bias gradients of :func:`conv_forward_s1` given ``dout (N, F, H', W')`` and the forward's
    ``xpad``: ``dW += sum_chunks doutp @ cols.T`` (``dW (F, C, kh, kw)``) and ``db += dout.sum(axis=(0, 2, 3))``,
    into arrays the caller zeroed (it adds any weight decay). The input gradient is a kernel of its own
    (:func:`conv_backward_data_s1`), compiled only for a layer that needs it: a network's first layer does not.
    Work buffers: 1-D ``cols_buf``, ``doutp_buf`` (``K*nc*P1``, ``F*nc*P1`` values) and ``dW_tmp (F, K)`` (used
    as ``(K, F)`` when ``K >= F``: the chunk's dW is then computed transposed, ``cols @ doutp.T``, the orientation
    BLAS runs faster for these shapes)."""
    N, F, Ho, Wo = dout.shape
    C = xpad.shape[1]
    K = C * kh * kw
    Wp = Wo + kw - 1
    P1 = Ho * Wp
    dW2 = dW.reshape(F, K)
    dflat = dout.reshape(N * F * Ho * Wo)
    nc = max(nc, 1)
    for n0 in range(0, N, nc):
        n1 = min(N, n0 + nc)
        m = (n1 - n0) * P1
        cols = cols_buf[: K * m].reshape(K, m)
        doutp = doutp_buf[: F * m].reshape(F, m)
        _im2col_s1(xpad, n0, n1, kh, kw, Wp, P1, cols)
        for n in range(n0, n1):
            for f in range(F):
                db[f] += _sum_run(dflat, (n * F + f) * Ho * Wo, Ho * Wo)
        _spread_dout(dout, n0, n1, Wp, doutp)
        if K >= F:  # BLAS runs the (K, m) @ (m, F) product faster when K >= F (measured 1.1-1.4x)
            dWt = dW_tmp.reshape(K, F)
            gemm(cols, doutp.T, dWt)
            for f in range(F):
                for k in range(K):
                    dW2[f, k] += dWt[k, f]
        else:
            gemm(doutp, cols.T, dW_tmp)
            _add(dW_tmp.reshape(F * K), dW.reshape(F * K))


@jit
def conv_backward_data_s1(dout, W, ph, pw, nc, doutp_buf, dcols_buf, dxpad, dx):
    """Input gradient of :func:`conv_forward_s1`: ``dx = col2im(W.T @ doutp)`` per chunk of ``nc`` samples (``doutp``
    spread again here, as :func:`conv_backward_s1` does). Work buffers: 1-D ``doutp_buf``, ``dcols_buf``
    (``F*nc*P1``, ``K*nc*P1`` values) and ``dxpad (C, L)``."""
    N, F, Ho, Wo = dout.shape
    _, C, kh, kw = W.shape
    K = C * kh * kw
    Wp = Wo + kw - 1
    P1 = Ho * Wp
    W2 = W.reshape(F, K)
    zero = dout.dtype.type(0)
    nc = max(nc, 1)
    for n0 in range(0, N, nc):
        n1 = min(N, n0 + nc)
        m = (n1 - n0) * P1
        doutp = doutp_buf[: F * m].reshape(F, m)
        dcols = dcols_buf[: K * m].reshape(K, m)
        _spread_dout(dout, n0, n1, Wp, doutp)
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


# ------------------------------------------------------------------------------------------------ channels last
# The input is padded once into ``xp (N, Hp, Wp, C)`` (channels last, ``Hp = H + 2ph``, ``Wp = W + 2pw``), so the
# window of output ``(oh, ow)`` is ``kh`` contiguous runs of ``kw*C`` values, ``xp[n, oh*sh + i, ow*sw : ow*sw +
# kw, :]``, at any stride. A chunk of ``nc`` samples gives ``cols (nc*P, K)``, one row per output position
# (``P = H'*W'``, no discarded columns), ``K = kh*kw*C`` ordered ``(i, j, c)``, and one GEMM
# ``(nc*P, K) @ (K, F)`` with the weights as ``Wr (F, K)`` in the same order, transposed in the call. Its result
# ``(nc*P, F)`` goes to NCHW in one transposing pass with the bias added, except in one-sample chunks (``nc == 1``,
# ``P > 128``) of layers with ``K <= 2F``: there the GEMM ``Wr @ cols.T`` writes the sample's output planes in place
# (measured on one thread: 1.14-1.39x on first layers and wide ones, K = 9..144; 0.81-0.94x where K > 2F, which
# keep the rows and their transposing pass). Backward lays the chunk's ``dout`` planes side by side, ``dT (F,
# nc*P)`` (a one-sample chunk's planes as they stand): ``dW += dT @ cols``, ``dcols = dT.T @ Wr``, and col2im adds
# each row's runs back into a padded channels-last sample, which is moved to NCHW (measured against a transposed
# ``(nc*P, F)`` copy: 1.04-1.45x on twelve layers). Measured on one thread for the 5x5 32 -> 64
# layer on 14x14: the forward GEMM runs at 95-98 GFLOP/s, backward-data's at 95-100 and backward-weights' at
# 85-88 (OpenBLAS's sgemm peaks at 106 on this core), against 77-84 for the padded-width path's
# ``(F, K) @ (K, P1)`` GEMMs, which also compute 28 % discarded columns there.


def chunk_rows(P, target=256):
    """Samples per chunk of the channels-last path: GEMMs of about ``target`` rows (``nc*P``), at least one sample.
    It does not depend on the batch, so that a sample's result does not either: a layer with ``P > target / 2``
    runs one-sample chunks at every batch size, whose GEMMs write the output planes in place (``conv_forward_cl``).
    Measured on one thread (CPU time): the backward of 3x3 16 -> 32 on 14x14 ran 1.3x faster in one-sample chunks
    than in two (its weight GEMM, reducing over ``nc*P``, drops from 110 to 70 GFLOP/s); 5x5 32 -> 64 and 3x3
    32 -> 64 were within 3 % from one to four samples; a stride-2 layer with ``P = 49`` was 5 % slower forward
    below about 200 rows."""
    return max(1, target // P)


@jit
def pad_nhwc(x, ph, pw, xp):
    """``xp[n, h + ph, w + pw, c] = x[n, c, h, w]``, zero on the border; ``xp (N, H + 2ph, W + 2pw, C)``. Each
    sample is zeroed whole, then its interior written (one inlined fill instead of three: compile time)."""
    N, C, H, W = x.shape
    Hp, Wp = xp.shape[1], xp.shape[2]
    zero = x.dtype.type(0)
    for n in range(N):
        _fill(xp[n].reshape(Hp * Wp * C), zero)
        flat = xp[n].reshape(Hp, Wp * C)
        for h in range(H):
            row = flat[h + ph]
            for c in range(C):
                src = x[n, c, h]
                for w in range(W):
                    row[(w + pw) * C + c] = src[w]


def weights_cl(W, Wr):
    """``Wr[f, (i*kw + j)*C + c] = W[f, c, i, j]``: the weights in the column order of the channels-last path
    (a NumPy copy, once per layer pass; a kernel of its own cost a quarter second of compile time)."""
    F = W.shape[0]
    Wr[...] = W.transpose(0, 2, 3, 1).reshape(F, -1)
    return Wr


def grads_from_cl(dWr, dW):
    """``dW[f, c, i, j] = dWr[f, (i*kw + j)*C + c]``: a channels-last weight gradient in ``W``'s layout."""
    F, C, kh, kw = dW.shape
    dW[...] = dWr.reshape(F, kh, kw, C).transpose(0, 3, 1, 2)
    return dW


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


@jit
def _im2col_cl_t(xp, n0, n1, kh, kw, sh, Ho, Wo, colsT):
    """``colsT[i*kw + j, (n - n0)*P + oh*W' + ow] = xp[n, oh*sh + i, ow + j, 0]``: :func:`_im2col_cl`'s columns
    transposed, for layers with ``transposed`` columns (one channel at stride 1 along the width), where each output
    row's values are one contiguous run of the padded input, copied in one piece."""
    Hp, Wp = xp.shape[1], xp.shape[2]
    P = Ho * Wo
    for i in range(kh):
        for j in range(kw):
            dst = colsT[i * kw + j]
            for n in range(n0, n1):
                xf = xp[n].reshape(Hp, Wp)
                for oh in range(Ho):
                    base = (n - n0) * P + oh * Wo
                    _copy(xf[oh * sh + i, j : j + Wo], dst[base : base + Wo])


def transposed(C, sw):
    """Whether transposed columns, ``(K, nc*P)``, have contiguous runs: one input channel at stride 1, where a column
    row would be ``kw`` values and a transposed one runs along the output row. Three channels or stride 2 make the
    runs strided (measured 1.0-1.6x slower than rows of columns)."""
    return C * sw == 1


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
def _dout_planes(dout, n0, n1, dT_buf):
    """The chunk's ``dout`` planes side by side, ``(F, (n1 - n0)*P)``: a one-sample chunk's as they stand, else
    contiguous copies into ``dT_buf``."""
    N, F, Ho, Wo = dout.shape
    P = Ho * Wo
    if n1 - n0 == 1:
        return dout[n0].reshape(F, P)
    dflat = dout.reshape(N * F * P)
    dT = dT_buf[: (n1 - n0) * P * F].reshape(F, (n1 - n0) * P)
    for n in range(n0, n1):
        for f in range(F):
            _copy(dflat[(n * F + f) * P : (n * F + f + 1) * P], dT[f, (n - n0) * P : (n - n0 + 1) * P])
    return dT


@jit
def conv_forward_cl(xp, Wr, b, kh, kw, sh, sw, nc, cols_buf, gemm_buf, out):
    """``out = conv(x, W) + b`` from ``xp`` (:func:`pad_nhwc`) and ``Wr = weights_cl(W)`` (``(F, K)``), ``kh x kw``
    windows, in chunks of ``nc`` samples. Work buffers: 1-D ``cols_buf``, ``gemm_buf`` of at least ``nc*P*K`` and
    ``nc*P*F`` values."""
    N = xp.shape[0]
    F, K = Wr.shape
    Ho, Wo = out.shape[2], out.shape[3]
    P = Ho * Wo
    nc = max(nc, 1)
    for n0 in range(0, N, nc):
        n1 = min(N, n0 + nc)
        m = (n1 - n0) * P
        cols = cols_buf[: m * K].reshape(m, K)
        _im2col_cl(xp, n0, n1, kh, kw, sh, sw, Ho, Wo, cols)
        if nc == 1 and K <= 2 * F:  # the sample's planes are the transposed product: written in place
            planes = out[n0].reshape(F, P)
            gemm(Wr, cols.T, planes)
            for f in range(F):
                _copy_bias(planes[f], planes[f], b[f])
            continue
        prod = gemm_buf[: m * F].reshape(m, F)
        gemm(cols, Wr.T, prod)
        for n in range(n0, n1):
            _rows_to_planes(prod[(n - n0) * P : (n - n0 + 1) * P], b, out[n].reshape(F, P))


@jit
def conv_backward_cl(dout, xp, Wr, kh, kw, sh, sw, ph, pw, nc, cols_buf, dT_buf, dcols_buf, dxp, dW_tmp, dWr, db,
                     dx):
    """Gradients of :func:`conv_forward_cl` given ``dout (N, F, H', W')``, the forward's ``xp`` and ``Wr``:
    ``dWr += sum_chunks dT @ cols`` (the weight gradient in the columns' order, ``(F, K)``; the caller
    reorders it with :func:`grads_from_cl` and adds any weight decay), ``db += dout.sum(axis=(0, 2, 3))`` (both
    into arrays the caller zeroed) and, unless ``dx.size == 0``, ``dx = col2im(dT.T @ Wr)``. Work buffers: 1-D
    ``cols_buf``, ``dT_buf``, ``dcols_buf`` of ``nc*P*K``, ``nc*P*F`` and ``nc*P*K`` values (``dT_buf`` unused when
    ``nc == 1``, ``dcols_buf`` when ``dx`` is empty), ``dxp (Hp, Wp, C)`` (one padded sample) and ``dW_tmp (F, K)``
    (a chunk's gradient)."""
    N, F, Ho, Wo = dout.shape
    K = Wr.shape[1]
    C = K // (kh * kw)
    P = Ho * Wo
    Hp, Wp = xp.shape[1], xp.shape[2]
    H, Wd = Hp - 2 * ph, Wp - 2 * pw
    run = kw * C
    zero = dout.dtype.type(0)
    dflat = dout.reshape(N * F * P)
    nc = max(nc, 1)
    for n0 in range(0, N, nc):
        n1 = min(N, n0 + nc)
        m = (n1 - n0) * P
        cols = cols_buf[: m * K].reshape(m, K)
        _im2col_cl(xp, n0, n1, kh, kw, sh, sw, Ho, Wo, cols)
        for n in range(n0, n1):
            for f in range(F):
                db[f] += _sum_run(dflat, (n * F + f) * P, P)
        dT = _dout_planes(dout, n0, n1, dT_buf)  # (F, m): contiguous runs, no transposing pass
        gemm(dT, cols, dW_tmp)
        _add(dW_tmp.reshape(F * K), dWr.reshape(F * K))
        if dx.size:
            dcols = dcols_buf[: m * K].reshape(m, K)
            gemm(dT.T, Wr, dcols)
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


# ------------------------------------------------------------------------------------------------ transposed columns
# Stride-1 layers of one input channel on images of ``Conv2D.s1_pixels`` or more (first layers of MNIST-like images):
# the padded input ``xp (N, Hp, Wp, 1)`` is the channels-last one, the columns are transposed, ``colsT (K, m)`` with
# one contiguous copy per output row (:func:`_im2col_cl_t`), and the GEMMs are ``Wr @ colsT`` (the chunk's output
# planes side by side, copied out with the bias), ``dW += dT @ colsT.T`` and ``dcolsT = Wr.T @ dT``. Measured on
# one thread against the padded-width kernels these layers took before, forward and backward without the input
# gradient: 1 -> 32 5x5 on 28x28 (batch 32) 1.7x and 2.3x, 1 -> 16 3x3 on 28x28 (batch 64) 0.9x and 1.2x, 1 -> 32 3x3
# on 32x32 0.9x and 1.3x: no padded width to compute and discard, no spread copy of ``dout``. Kernels of their own:
# the same branches inside the channels-last kernels cost 1.4 s more compile time to every network that has those.


def chunk_transposed(K, F, P, target=1 << 16):
    """Samples per chunk of :func:`conv_forward_clt`: a chunk's columns and GEMM result together near ``target``
    values (256 KiB in float32), at least one sample. Measured on one thread, batch 32-64: 1 -> 16 3x3 on 28x28
    0.45 ms in one-sample chunks, 0.33 in two to eight; 1 -> 32 5x5 0.60 in one, 0.96 in two. Backward takes
    ``chunk_rows`` (one-sample chunks ran 1.1-1.9x faster there: ``dout`` is read as it stands)."""
    return max(1, target // ((K + F) * P))


@jit
def conv_forward_clt(xp, Wr, b, kh, kw, nc, cols_buf, gemm_buf, out):
    """Stride-1 ``out = conv(x, W) + b`` of a one-channel layer from ``xp`` (:func:`pad_nhwc`) and ``Wr =
    weights_cl(W)``, in chunks of ``nc`` samples, with transposed columns. Work buffers: 1-D ``cols_buf``, ``gemm_buf``
    of at least ``nc*P*K`` and ``nc*P*F`` values."""
    N = xp.shape[0]
    F, K = Wr.shape
    Ho, Wo = out.shape[2], out.shape[3]
    P = Ho * Wo
    nc = max(nc, 1)
    for n0 in range(0, N, nc):
        n1 = min(N, n0 + nc)
        m = (n1 - n0) * P
        colsT = cols_buf[: m * K].reshape(K, m)
        _im2col_cl_t(xp, n0, n1, kh, kw, 1, Ho, Wo, colsT)
        planes = gemm_buf[: m * F].reshape(F, m)  # in cache (against out's planes in place: measured 1.1-1.5x)
        gemm(Wr, colsT, planes)
        for n in range(n0, n1):
            dst = out[n].reshape(F, P)
            for f in range(F):
                _copy_bias(planes[f, (n - n0) * P : (n - n0 + 1) * P], dst[f], b[f])


@jit
def conv_backward_clt(dout, xp, kh, kw, nc, cols_buf, dT_buf, dW_tmp, dWr, db):
    """Weight and bias gradients of :func:`conv_forward_clt`: ``dWr += dT @ colsT.T`` (``(F, K)``, the columns'
    order) and ``db += dout.sum(axis=(0, 2, 3))``, into arrays the caller zeroed. The input gradient is a kernel of
    its own (:func:`conv_backward_data_clt`), compiled only for a layer that needs it: a network's first layer does
    not. Work buffers: 1-D ``cols_buf``, ``dT_buf`` (``nc*P*K``, ``nc*P*F`` values) and ``dW_tmp (F, K)``."""
    N, F, Ho, Wo = dout.shape
    K = dWr.shape[1]
    P = Ho * Wo
    dflat = dout.reshape(N * F * P)
    nc = max(nc, 1)
    for n0 in range(0, N, nc):
        n1 = min(N, n0 + nc)
        m = (n1 - n0) * P
        colsT = cols_buf[: m * K].reshape(K, m)
        _im2col_cl_t(xp, n0, n1, kh, kw, 1, Ho, Wo, colsT)
        for n in range(n0, n1):
            for f in range(F):
                db[f] += _sum_run(dflat, (n * F + f) * P, P)
        gemm(_dout_planes(dout, n0, n1, dT_buf), colsT.T, dW_tmp)
        _add(dW_tmp.reshape(F * K), dWr.reshape(F * K))


@jit
def conv_backward_data_clt(dout, Wr, kh, kw, ph, pw, nc, dT_buf, dcols_buf, dxp, dx):
    """Input gradient of :func:`conv_forward_clt`: ``dx = col2im(Wr.T @ dT)`` per chunk of ``nc`` samples, each
    transposed row added back along an input row. Work buffers: 1-D ``dT_buf``, ``dcols_buf`` (``nc*P*F``,
    ``nc*P*K`` values) and ``dxp (Hp, Wp, 1)``."""
    N, F, Ho, Wo = dout.shape
    K = Wr.shape[1]
    P = Ho * Wo
    Hp, Wp = dxp.shape[0], dxp.shape[1]
    H, Wd = Hp - 2 * ph, Wp - 2 * pw
    zero = dout.dtype.type(0)
    plane = dxp.reshape(Hp, Wp)
    nc = max(nc, 1)
    for n0 in range(0, N, nc):
        n1 = min(N, n0 + nc)
        m = (n1 - n0) * P
        dcolsT = dcols_buf[: m * K].reshape(K, m)
        gemm(Wr.T, _dout_planes(dout, n0, n1, dT_buf), dcolsT)
        for n in range(n0, n1):
            _fill(dxp.reshape(Hp * Wp), zero)
            base = (n - n0) * P
            for i in range(kh):
                for j in range(kw):
                    src = dcolsT[i * kw + j]
                    for oh in range(Ho):
                        _add(src[base + oh * Wo : base + (oh + 1) * Wo], plane[oh + i, j : j + Wo])
            for h in range(H):
                _copy(plane[h + ph, pw : pw + Wd], dx[n, 0, h])


# ------------------------------------------------------------------------------------------------ inference, NHWC
# A network's inference runs its conv stacks channels last from end to end (``fastnn.network.channels_last``): each
# convolution reads a padded NHWC input and writes its NHWC output ``(N, H', W', F)`` straight from the GEMM, whose
# rows are exactly those (no transposing pass), with the bias and the following activation applied to each chunk
# while it is in cache. Layers with ``transposed`` columns pass them to BLAS as the transposed operand. Measured on
# one thread, digits CNN, 1797 images: the 1 -> 16 layer's inference 2.66 ms (rows of columns, separate bias) ->
# 1.75 ms.


@jit
def pad_cl(x, ph, pw, xp):
    """``xp[n, h + ph, w + pw, :] = x[n, h, w, :]``, zero on the border: NHWC ``x (N, H, W, C)`` into ``xp (N, H +
    2ph, W + 2pw, C)``, one contiguous run per row."""
    N, H, W, C = x.shape
    Hp, Wp = xp.shape[1], xp.shape[2]
    zero = x.dtype.type(0)
    for n in range(N):
        dst = xp[n].reshape(Hp, Wp * C)
        src = x[n].reshape(H, W * C)
        for h in range(Hp):
            row = dst[h]
            if h < ph or h >= ph + H:
                _fill(row, zero)
            else:
                _fill(row[: pw * C], zero)
                _copy(src[h - ph], row[pw * C : (pw + W) * C])
                _fill(row[(pw + W) * C :], zero)


@jit
def conv_infer_cl(xp, Wr, b, kh, kw, sh, sw, nc, code, slope, cols_buf, out):
    """``out = act(conv(x, W) + b)`` in NHWC, ``out (N, H', W', F)``, from the padded NHWC ``xp`` (:func:`pad_nhwc`
    or :func:`pad_cl`) and ``Wr = weights_cl(W)``, in chunks of ``nc`` samples; ``act`` is the activation ``code`` of
    ``kernels.activations`` (with its ``slope``). ``cols_buf``: 1-D, at least ``nc*P*K`` values."""
    N, Ho, Wo, F = out.shape
    K = Wr.shape[1]
    P = Ho * Wo
    rows = out.reshape(N * P, F)
    flat = out.reshape(N * P * F)
    zero = out.dtype.type(0)
    nc = max(nc, 1)
    cols_t = sw * xp.shape[3] == 1  # transposed(C, sw)
    for n0 in range(0, N, nc):
        n1 = min(N, n0 + nc)
        m = (n1 - n0) * P
        if cols_t:
            colsT = cols_buf[: m * K].reshape(K, m)
            _im2col_cl_t(xp, n0, n1, kh, kw, sh, Ho, Wo, colsT)
            gemm(colsT.T, Wr.T, rows[n0 * P : n1 * P])
        else:
            cols = cols_buf[: m * K].reshape(m, K)
            _im2col_cl(xp, n0, n1, kh, kw, sh, sw, Ho, Wo, cols)
            gemm(cols, Wr.T, rows[n0 * P : n1 * P])
        chunk = flat[n0 * P * F : n1 * P * F]
        if code == RELU:  # bias and ReLU in one pass
            for p in range(m):
                for f in range(F):
                    v = chunk[p * F + f] + b[f]
                    chunk[p * F + f] = v if v > zero else zero
        else:
            for p in range(m):
                for f in range(F):
                    chunk[p * F + f] += b[f]
            activation(chunk, code, slope, chunk)
