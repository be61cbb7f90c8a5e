"""2-D max and average pooling over NCHW input, forward and backward, no padding.

Shapes: ``x (N, C, H, W)``, windows ``kh x kw`` moved with strides ``sh, sw``, output ``out (N, C, H', W')``
with ``H' = (H - kh) // sh + 1`` and ``W' = (W - kw) // sw + 1``.

Max: ``out[n, c, oh, ow] = max_{i, j} x[n, c, oh*sh + i, ow*sw + j]``; forward records in ``argmax`` the flat
index ``ih*W + iw`` of the winner inside its ``(H, W)`` plane. Ties: the first maximum in row-major window
order wins (``i`` then ``j``), so the whole gradient goes to that one cell. A NaN in a window wins (the last
NaN in window order), so NaNs propagate as in NumPy's ``max``. Backward: ``dx = 0`` then ``dx[n, c, argmax] += dout``.

Average: ``out = mean`` over the ``kh*kw`` window; backward adds ``dout / (kh*kw)`` to every cell of it.

Backward accumulates (``+=``), so overlapping windows (stride < window) are correct. 2x2 windows at stride 2
(no overlap, the common case) have their own pair, :func:`maxpool_forward_2x2` / :func:`maxpool_backward_2x2`,
which record the winner as its position ``2*i + j`` in the window (int8) and run vectorised rows. Serial loops, for the
reason given in ``conv.py``.
"""

from ._jit import jit
from .conv import _copy


@jit
def _wins(v, best):
    """Whether ``v`` replaces the running maximum ``best``: strictly larger (so the first maximum wins) or NaN."""
    return (v > best) | (v != v)


@jit
def maxpool_forward(x, kh, kw, sh, sw, out, argmax):
    """``out (N, C, H', W')`` = window maxima of ``x``; ``argmax`` (int array, same shape) = flat winner index.
    Any geometry; 2x2 windows at stride 2 have the faster :func:`maxpool_forward_2x2`."""
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                h0 = oh * sh
                for ow in range(Wo):
                    w0 = ow * sw
                    best = x[n, c, h0, w0]
                    best_idx = h0 * W + w0
                    for i in range(kh):
                        for j in range(kw):
                            v = x[n, c, h0 + i, w0 + j]
                            take = _wins(v, best)
                            best_idx = (h0 + i) * W + w0 + j if take else best_idx
                            best = v if take else best
                    out[n, c, oh, ow] = best
                    argmax[n, c, oh, ow] = best_idx


@jit(inline="always")
def _maxpool_row_2x2(r0, r1, o, code):
    """One output row of 2x2 / stride-2 max pooling from input rows ``r0``, ``r1``: ``o[ow]`` = the window's
    maximum under the rule of :func:`_wins`, ``code[ow]`` = its position ``2*i + j`` in the window. Selects
    instead of branches, so LLVM vectorises the loop."""
    for ow in range(o.shape[0]):
        w0 = 2 * ow
        best = r0[w0]
        k = 0
        v = r0[w0 + 1]
        t = (v > best) | (v != v)
        best = v if t else best
        k = 1 if t else k
        v = r1[w0]
        t = (v > best) | (v != v)
        best = v if t else best
        k = 2 if t else k
        v = r1[w0 + 1]
        t = (v > best) | (v != v)
        best = v if t else best
        k = 3 if t else k
        o[ow] = best
        code[ow] = k


@jit
def maxpool_forward_2x2(x, out, code):
    """:func:`maxpool_forward` for 2x2 windows at stride 2, recording in ``code`` (int8, ``out``'s shape) the
    winner's position ``2*i + j`` inside its window instead of a flat index: an eighth of the memory, and
    vectorised rows (measured 4-5x faster than the general loop)."""
    N, C = x.shape[0], x.shape[1]
    Ho = out.shape[2]
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                _maxpool_row_2x2(x[n, c, 2 * oh], x[n, c, 2 * oh + 1], out[n, c, oh], code[n, c, oh])


@jit(inline="always")
def _maxunpool_row_2x2(g, code, d0, d1):
    """Backward of one 2x2 / stride-2 output row: each window's four cells of ``dx`` rows ``d0``, ``d1`` get
    ``g`` at the recorded winner ``code`` and zero elsewhere (written, not accumulated: the windows do not
    overlap). The loop runs over input columns so that its stores are contiguous: 4x faster than one window
    per iteration, whose interleaved stores LLVM does not vectorise."""
    zero = g.dtype.type(0)
    for w in range(2 * g.shape[0]):
        ow = w >> 1
        j = w & 1
        k = code[ow]
        v = g[ow]
        d0[w] = v if k == j else zero
        d1[w] = v if k == j + 2 else zero


@jit
def maxpool_backward(dout, argmax, dx):
    """``dx = 0``; ``dx[n, c].flat[argmax[n, c, oh, ow]] += dout[n, c, oh, ow]`` (any geometry)."""
    N, C, H, W = dx.shape
    Ho, Wo = dout.shape[2], dout.shape[3]
    for n in range(N):
        for c in range(C):
            for ih in range(H):
                for iw in range(W):
                    dx[n, c, ih, iw] = 0
            for oh in range(Ho):
                for ow in range(Wo):
                    idx = argmax[n, c, oh, ow]
                    dx[n, c, idx // W, idx % W] += dout[n, c, oh, ow]


@jit
def maxpool_backward_2x2(dout, code, dx):
    """Backward of :func:`maxpool_forward_2x2` from its ``code``: one pass writing every cell of ``dx`` (the
    winner gets ``dout``, the rest of its window and any uncovered last row/column zero)."""
    N, C, H, W = dx.shape
    Ho, Wo = dout.shape[2], dout.shape[3]
    zero = dx.dtype.type(0)
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                h0 = 2 * oh
                d0, d1 = dx[n, c, h0], dx[n, c, h0 + 1]
                _maxunpool_row_2x2(dout[n, c, oh], code[n, c, oh], d0, d1)
                for iw in range(2 * Wo, W):
                    d0[iw] = zero
                    d1[iw] = zero
            for ih in range(2 * Ho, H):
                for iw in range(W):
                    dx[n, c, ih, iw] = zero


@jit
def avgpool_forward(x, kh, kw, sh, sw, out):
    """``out[n, c, oh, ow] = mean(x[n, c, oh*sh : oh*sh + kh, ow*sw : ow*sw + kw])``."""
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    scale = x.dtype.type(1.0 / (kh * kw))
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                for ow in range(Wo):
                    s = x.dtype.type(0)
                    for i in range(kh):
                        for j in range(kw):
                            s += x[n, c, oh * sh + i, ow * sw + j]
                    out[n, c, oh, ow] = s * scale


@jit
def avgpool_backward(dout, kh, kw, sh, sw, dx):
    """``dx = 0``; every cell of window ``(oh, ow)`` gets ``dout[n, c, oh, ow] / (kh*kw)`` added."""
    N, C, H, W = dx.shape
    Ho, Wo = dout.shape[2], dout.shape[3]
    scale = dx.dtype.type(1.0 / (kh * kw))
    for n in range(N):
        for c in range(C):
            for ih in range(H):
                for iw in range(W):
                    dx[n, c, ih, iw] = 0
            for oh in range(Ho):
                for ow in range(Wo):
                    g = dout[n, c, oh, ow] * scale
                    for i in range(kh):
                        for j in range(kw):
                            dx[n, c, oh * sh + i, ow * sw + j] += g


# ------------------------------------------------------------------------------------------------ inference, NHWC
@jit
def pool_cl(x, kh, kw, sh, sw, average, out):
    """Inference pooling in NHWC (``fastnn.network.channels_last``): ``out (N, H', W', C)`` = the window maxima
    (:func:`_wins`'s rule: the first maximum, a NaN wins) or, with ``average``, means of ``x (N, H, W, C)``; no
    winners recorded. Each output pixel combines the window's pixels as whole rows of ``C`` channels (contiguous,
    vectorised; the generic windows' average 2.9 -> 0.7 ms against indexing per value, 3x3 at stride 2 over the digits
    CNN's first outputs); 2x2 windows at stride 2 read their four pixels at once (0.25 against 0.72 ms generic)."""
    N, H, W, C = x.shape
    Ho, Wo = out.shape[1], out.shape[2]
    scale = x.dtype.type(1.0 / (kh * kw))
    for n in range(N):
        src = x[n].reshape(H, W * C)
        dst = out[n].reshape(Ho, Wo * C)
        for oh in range(Ho):
            o = dst[oh]
            if not average and kh == 2 and kw == 2 and sh == 2 and sw == 2:
                r0, r1 = src[2 * oh], src[2 * oh + 1]
                for ow in range(Wo):
                    a = 2 * ow * C
                    for c in range(C):
                        m = r0[a + c]
                        v = r0[a + C + c]
                        m = v if _wins(v, m) else m
                        v = r1[a + c]
                        m = v if _wins(v, m) else m
                        v = r1[a + C + c]
                        o[ow * C + c] = v if _wins(v, m) else m
                continue
            for ow in range(Wo):
                o = dst[oh, ow * C : (ow + 1) * C]
                a = ow * sw * C
                _copy(src[oh * sh, a : a + C], o)
                for i in range(kh):
                    r = src[oh * sh + i]
                    for j in range(1 if i == 0 else 0, kw):
                        v = r[a + j * C : a + (j + 1) * C]
                        if average:
                            for c in range(C):
                                o[c] += v[c]
                        else:
                            for c in range(C):
                                o[c] = v[c] if _wins(v[c], o[c]) else o[c]
                if average:
                    for c in range(C):
                        o[c] *= scale
