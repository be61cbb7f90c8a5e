"""The fused MLP path of ``Sequential``: when a whole training epoch, or a forward pass, of a dense stack can go to
``kernels.mlp`` in one call, with which arguments, and whether compiling that kernel pays (the tiered plan).

Tiers. The layer-by-layer path compiles only the small kernels a fit uses (the loss and optimizer in use, dense,
activation), and at batch 200 it is as fast as the fused epoch; the fused epoch saves a Python round trip per layer
and per mini-batch, which matters for small batches and long fits, but compiling it costs seconds. So with
``fused='auto'`` an epoch is fused when its kernel is already compiled in this process or stored in the kernel
cache. On a miss a background process compiles it into the cache (``fastnn.network.background``) while the fit
goes on, looking again every ``RECHECK_SECONDS``, and the next epoch after it lands is fused. Until then the
epoch runs ``python_epoch``: the fused epoch's kernels called from Python, bit-identical, compiling nothing the
layered path does not, without its per-layer objects and checks (about 20 % faster at batch 32). With
background compiles off, an epoch is fused when the steps left in the fit are expected to save more than compiling
it here costs: ``steps_left * (PER_BATCH + PER_LAYER * n_layers) > COMPILE_SECONDS`` (measured on the 2-core
reference machine; see docs/design.md). ``fastnn.warmup()`` fills the cache ahead of time. Inference is fused once ``mlp_forward`` is compiled or cached, or once the
network trained fused (a miss starts the background compile too). ``fused=True`` always fuses an eligible stack, ``False`` never does.
"""
import math
import time
from typing import Callable, NamedTuple, Optional

import numpy as np

from . import background
from ..kernels import activations as _act
from ..kernels import dense as _dense
from ..kernels import codes, is_cached, is_compiled, signature
from ..kernels import mlp as _mlp
from ..kernels import softmax as _softmax
from ..layers import Activation, Dense

COMPILE_SECONDS = 2.5  # one epoch variant with its kernels compiled by the layered path (2.6 s CPU, 2026-12-07)
#: How often a fit looks again in the kernel cache for a fused kernel that a background compile is filling in.
RECHECK_SECONDS = 0.5
#: What a fused epoch saves per mini-batch against ``python_epoch`` (the tier it replaces): about 13 us for 3 layers,
#: 23 for 7, 28-31 for 11 (digits, batch 32, float32 and float64, medians of 5 fits, 2026-12-07).
PER_BATCH = 8e-6
PER_LAYER = 2e-6

_EMPTY = {np.dtype(t).char: np.empty(0, t) for t in (np.float32, np.float64)}
_EMPTY_2D = {np.dtype(t).char: np.empty((0, 0), t) for t in (np.float32, np.float64)}
_NO_LABELS = np.empty(0, np.intp)


def readonly(a):
    """A read-only view: the fused kernel only reads its inputs, and typing them all read-only keeps one compiled
    signature whether or not the caller's arrays are writable."""
    view = a.view()
    view.flags.writeable = False
    return view


def _kernel_ready(a, dtype, ndim):
    return (
        type(a) is np.ndarray and a.dtype == dtype and a.ndim == ndim and a.flags.c_contiguous
        and a.flags.aligned
    )


class _DenseViews(NamedTuple):
    """A dense layer of the fused stack for ``FusedMLP.python_epoch``: its parameters and gradients, its batch
    buffers (``z`` the dense output, ``h`` the activation's, ``d*`` their gradients; ``h``/``dh`` None for the
    output layer), their flat views for the activation kernels, and its activation's kernels and slope."""

    W: np.ndarray
    b: np.ndarray
    dW: np.ndarray
    db: np.ndarray
    z: np.ndarray
    dz: np.ndarray
    h: Optional[np.ndarray]
    dh: Optional[np.ndarray]
    z_flat: np.ndarray
    dz_flat: np.ndarray
    h_flat: Optional[np.ndarray]
    dh_flat: Optional[np.ndarray]
    forward: Optional[Callable]
    backward: Optional[Callable]
    slope: float


class FusedMLP:
    """The ``Dense (activation Dense)*`` stack of a built ``Sequential`` as ``kernels.mlp`` sees it: the layer
    table, the slopes, and work buffers per batch size; ``Sequential`` makes one when ``eligible(layers)``. The
    activations, loss and optimizer enter the kernel as their ``code`` and float parameters."""

    def __init__(self, net):
        self.net = net
        dense = net.layers[0::2]
        acts = list(net.layers[1::2]) + [None]
        rows, offset = [], 0
        for d, a in zip(dense, acts):
            n_in, n_out = d.W.shape
            rows.append([n_in, n_out, offset, offset + n_in * n_out, a.code if a else -1, -1, -1, -1, -1])
            offset += n_in * n_out + n_out
        self.table = np.array(rows, np.int64)
        self.slopes = np.array([a.slope if a else 0.0 for a in acts], np.float64)
        self._work, self._batch_buffers = {}, {}
        self._created_state = False
        self._typed, self._ready_kernels = {}, set()  # kernel -> its signature; kernels known ready
        self._next_look = {}  # kernel -> when to read the cache's index again
        self._next_pending = 0.0  # when inference asks about a background compile again
        self._forward_ready = net.fused is True
        self._inference = None  # python_forward's (W, b, activation kernel, slope) per dense layer, made on first use
        self.codes = None  # (loss code, optimizer rule) of the last epoch_call: the epoch kernel's variant

    @staticmethod
    def eligible(layers):
        """Whether ``layers`` is a ``Dense (activation Dense)*`` stack, the shape ``kernels.mlp`` runs."""
        return len(layers) % 2 == 1 and all(
            type(layer) is Dense if i % 2 == 0 else isinstance(layer, Activation) for i, layer in enumerate(layers)
        )

    # ------------------------------------------------------------------ inference
    def forward_args(self, X):
        return X, self.table, self.slopes, self.net.flat_params

    def forward(self, X):
        """Logits of a C-contiguous, writable ``X`` of the network's dtype."""
        return _mlp.mlp_forward(*self.forward_args(X))

    def python_forward(self, X):
        """The logits ``forward`` computes, from ``mlp_forward``'s kernel calls made from Python with the layered
        inference's argument types (nothing more to compile): bit-identical to both for inputs that the layered pass
        runs as one block (``Sequential.logits`` calls it for those while ``mlp_forward`` is not ready)."""
        if getattr(self, "_inference", None) is None:  # a plan unpickled from an older fastnn has none
            dense, acts = self.net.layers[0::2], list(self.net.layers[1::2]) + [None]
            self._inference = [
                (d.W, d.b, None if a is None else _act.FORWARD[a.code], 0.0 if a is None else float(a.slope))
                for d, a in zip(dense, acts)
            ]
        h = X
        for W, b, forward, slope in self._inference:
            z = np.empty((h.shape[0], W.shape[1]), W.dtype)
            _dense.dense_forward(h, W, b, z)
            if forward is not None:
                flat = z.reshape(-1)
                forward(flat, slope, flat)
            h = z
        return h

    def forward_ready(self, X):
        """The ``'auto'`` tier of inference: fused once ``mlp_forward`` is compiled or cached, or once this network
        trained fused epochs (its small compile is then part of the fused tier); otherwise layer by layer, with
        the kernels training compiled already."""
        if not self._forward_ready:
            self._forward_ready = self.net.fused_epochs > 0 or self._ready(_mlp.mlp_forward, self.forward_args(X))
            now = time.monotonic()
            if not self._forward_ready and now >= self._next_pending:
                # asked again every RECHECK_SECONDS, as the cache: looking for a running compile's lock files on
                # every call tripled a one-row prediction's time (87 against 26 us) while one ran
                self._next_pending = now + RECHECK_SECONDS
                background.pending(self.net.dtype, self.codes)
        return self._forward_ready

    def _ready(self, kernel, args):
        """Whether ``kernel(*args)`` runs without compiling. Its argument types are fixed for this network (dtype,
        loss, read-only views), so the signature is typed once (typing the epoch kernel's two dozen arguments costs as
        much as a small epoch); the cache's index file is read again at most every ``RECHECK_SECONDS``, since a
        background compile may fill it in while this network trains."""
        if kernel in self._ready_kernels:
            return True
        sig = self._typed.get(kernel)
        if sig is None:  # threads predicting at once may both get here: each stores the same complete signature
            sig = self._typed[kernel] = signature(kernel, args)
        if is_compiled(kernel, sig) or self._cached(kernel, sig):
            self._ready_kernels.add(kernel)
            return True
        return False

    def _cached(self, kernel, sig):
        now = time.monotonic()
        if now < self._next_look.get(kernel, 0.0):
            return False
        self._next_look[kernel] = now + RECHECK_SECONDS
        return is_cached(kernel, sig)

    # ------------------------------------------------------------------ training
    def epoch_call(self, X, Y, sample_weight, order, batch_size, alpha, scale):
        """``(kernel, args)``: the epoch kernel of this loss and optimizer rule (``kernels.mlp.epoch_kernel``) and
        its arguments, or None when this epoch cannot be fused (its inputs or the network's optimizer are not of a
        kind the kernel takes)."""
        net = self.net
        optimizer = net.optimizer
        dtype = net.dtype
        if not _kernel_ready(X, dtype, 2) or X.shape[1:] != net.input_shape:
            return None
        if optimizer.code is None:
            return None
        state = optimizer.state
        if state is not None and not (
            len(state) == 1 and all(_kernel_ready(s, dtype, 1) and s.shape == net.flat_params.shape for s in state[0])
        ):
            return None
        if sample_weight is not None and not _kernel_ready(sample_weight, dtype, 1):
            return None
        loss = net.loss
        if loss.code is None:
            return None
        if loss.code == codes.SOFTMAX and Y.ndim == 1 and Y.dtype.kind in "iub":
            loss_code, labels, Yarr = codes.SOFTMAX_LABELS, np.ascontiguousarray(Y, dtype=np.intp), _EMPTY_2D[dtype.char]
            if labels.size and (labels.min() < 0 or labels.max() >= net.output_shape[0]):
                # both fused paths index the logits by them
                raise ValueError(f"SoftmaxCrossEntropy: labels must lie in [0, {net.output_shape[0]}).")
        else:
            loss_code = loss.code
            Yarr = Y.reshape(-1, 1) if Y.ndim == 1 else Y
            if Yarr.ndim != 2 or Yarr.shape[1] != net.output_shape[0]:
                return None
            labels, Yarr = _NO_LABELS, np.ascontiguousarray(Yarr, dtype=dtype)
        self._created_state = optimizer.ensure_state([net.flat_params])
        vectors = optimizer.state[0]
        empty = _EMPTY[dtype.char]
        s1 = vectors[0] if len(vectors) > 0 else empty
        s2 = vectors[1] if len(vectors) > 1 else empty
        xbuf, lbuf, ybuf, wbuf = self._buffers(batch_size, loss_code, sample_weight is not None)
        table, work = self._work_for(batch_size)
        w = sample_weight if sample_weight is not None else empty
        self.codes = (int(loss_code), int(optimizer.code))
        args = (
            readonly(X), readonly(labels), readonly(Yarr), readonly(w), readonly(np.ascontiguousarray(order, np.intp)),
            int(batch_size), table, self.slopes, net.flat_params, net.flat_grads, work,
            xbuf, lbuf, ybuf, wbuf, float(loss.param), float(alpha), float(scale), s1, s2,
            int(optimizer.t), optimizer.hyper(),
        )
        return _mlp.epoch_kernel(*self.codes), args

    def _work_for(self, batch_size):
        """The layer table with the work-buffer offsets for ``batch_size`` rows, and the flat work vector."""
        if batch_size not in self._work:
            table = self.table.copy()
            offset = 0
            last = len(table) - 1
            for layer, n_out in enumerate(table[:, codes.N_OUT]):
                columns = (codes.Z_OFF, codes.DZ_OFF) + ((codes.H_OFF, codes.DH_OFF) if layer < last else ())
                for column in columns:
                    table[layer, column] = offset
                    offset += batch_size * n_out
            self._work[batch_size] = (table, np.empty(offset, self.net.dtype))
        return self._work[batch_size]

    def _buffers(self, batch_size, loss_code, weighted):
        """Batch buffers for the gathered rows, labels or targets, and weights, kept per batch size and kind."""
        key = (batch_size, loss_code == codes.SOFTMAX_LABELS, weighted)
        if key not in self._batch_buffers:
            dtype = self.net.dtype
            xbuf = np.empty((batch_size, self.net.input_shape[0]), dtype)
            if loss_code == codes.SOFTMAX_LABELS:
                lbuf, ybuf = np.empty(batch_size, np.intp), _EMPTY_2D[dtype.char]
            else:
                lbuf, ybuf = _NO_LABELS, np.empty((batch_size, self.net.output_shape[0]), dtype)
            wbuf = np.empty(batch_size, dtype) if weighted else _EMPTY[dtype.char]
            self._batch_buffers[key] = (xbuf, lbuf, ybuf, wbuf)
        return self._batch_buffers[key]

    def worth_fusing(self, call, steps_left):
        """The ``'auto'`` tier: fuse when the kernel is ready; else not while a background compile is filling the
        cache (``fastnn.network.background``: the fit switches when it lands), else when this fit is long enough to
        repay compiling it here."""
        kernel, args = call
        if self._ready(kernel, args):
            return True
        # A compile in the background starts after the fit's first layer-by-layer epoch, which compiles its kernels.
        if background.pending(self.net.dtype, self.codes, start=self.net.layered_epochs > 0):
            return False
        if background.enabled():  # the background compile has ended: look in the cache now, not compile it again
            self._next_look.pop(kernel, None)
            if self._ready(kernel, args):
                return True
        return steps_left * (PER_BATCH + PER_LAYER * len(self.net.layers)) > COMPILE_SECONDS

    def python_epoch(self, call):
        """The epoch of ``call`` (``epoch_call``) run from Python: the kernels that the fused epoch calls, with the
        layered path's argument types (nothing more to compile), in the same order on its buffers, so the result is
        bit-identical to both. Per mini-batch it skips what the layered path spends on ``Layer`` objects and checks
        (the inputs were checked once for the epoch): the ``'auto'`` tier's path until the fused kernel is ready."""
        (X, labels, Y, w, order, batch_size, table, slopes, params, grads, work, xbuf, lbuf, ybuf, wbuf,
         loss_param, alpha, scale, _, _, _, _) = call[1]
        net = self.net
        optimizer, loss_kernel = net.optimizer, net.loss._kernel
        state, lr = optimizer.state[0], float(optimizer.lr)
        labelled = labels.shape[0] > 0
        weighted = w.shape[0] > 0
        n = order.shape[0]
        views = {}
        empty_dx = np.empty((0, 0), params.dtype)
        total, steps, batch = 0.0, 0, 0
        with np.errstate(over="ignore"):  # as Sequential.penalty: diverging weights give inf, checked below
            for start in range(0, n, batch_size):
                batch += 1
                m = min(batch_size, n - start)
                if m not in views:
                    views[m] = self._views(table, slopes, params, grads, work, m)
                layers = views[m]
                rows = order[start : start + m]
                xb = X.take(rows, 0, xbuf[:m])
                targets = labels.take(rows, 0, lbuf[:m]) if labelled else Y.take(rows, 0, ybuf[:m])
                wb = wbuf[:0]
                if weighted:
                    wb = w.take(rows, 0, wbuf[:m])
                    w_sum = _softmax.weight_total(wb)
                    if w_sum <= 0.0:
                        continue
                    l2 = alpha / w_sum
                else:
                    l2 = alpha / m
                h = xb
                for v in layers:
                    _dense.dense_forward(h, v.W, v.b, v.z)
                    if v.forward is not None:
                        v.forward(v.z_flat, v.slope, v.h_flat)
                        h = v.h
                out = layers[-1]
                if labelled:
                    loss = float(_softmax.softmax_cross_entropy_labels(out.z, targets, wb, out.dz))
                else:
                    loss = float(loss_kernel(out.z, targets, wb, out.dz))
                for i in range(len(layers) - 1, 0, -1):
                    v, below = layers[i], layers[i - 1]
                    _dense.dense_backward(below.h, v.W, v.dz, l2, v.dW, v.db, below.dh)
                    below.backward(below.h_flat, below.dh_flat, below.slope, below.dz_flat)
                first = layers[0]
                _dense.dense_backward(xb, first.W, first.dz, l2, first.dW, first.db, empty_dx)
                penalty = net.penalty_unchecked(l2) if l2 else 0.0
                loss = loss + penalty
                if not math.isfinite(loss):
                    return self._untouched_unless(steps, total, batch)
                if scale != 1.0:
                    loss = (loss - penalty) * scale + penalty
                optimizer.advance(1)
                optimizer._update(params, grads, state, lr)
                steps += 1
                total += loss * m
        return self._untouched_unless(steps, total, 0)

    def _untouched_unless(self, steps, total, status):
        """``(total, steps, status)``; without a step, an optimizer whose state this epoch made is reset, as if
        untouched."""
        if self._created_state and not steps:
            self.net.optimizer.reset()
        return float(total), int(steps), int(status)

    @staticmethod
    def _views(table, slopes, params, grads, work, m):
        """One ``_DenseViews`` per dense layer, for batches of ``m`` rows: views of the flat vectors as ``table``
        places them."""
        def rows(flat, offset, width):
            return flat[offset : offset + m * width].reshape(m, width)

        layers = []
        last = len(table) - 1
        for i, (n_in, n_out, w_off, b_off, act, z_off, dz_off, h_off, dh_off) in enumerate(table.tolist()):
            z, dz = rows(work, z_off, n_out), rows(work, dz_off, n_out)
            h, dh = (rows(work, h_off, n_out), rows(work, dh_off, n_out)) if i < last else (None, None)
            layers.append(_DenseViews(
                params[w_off : w_off + n_in * n_out].reshape(n_in, n_out), params[b_off : b_off + n_out],
                grads[w_off : w_off + n_in * n_out].reshape(n_in, n_out), grads[b_off : b_off + n_out],
                z, dz, h, dh, z.reshape(-1), dz.reshape(-1), None if h is None else h.reshape(-1),
                None if dh is None else dh.reshape(-1), _act.FORWARD[act] if h is not None else None,
                _act.BACKWARD[act] if h is not None else None, float(slopes[i]),
            ))
        return layers

    def epoch(self, call):
        """``(total, steps, status)`` of one fused epoch (see ``kernels.mlp``); advances the optimizer's step count."""
        kernel, args = call
        total, steps, status = kernel(*args)
        self.net.optimizer.advance(steps)
        return self._untouched_unless(steps, total, status)
