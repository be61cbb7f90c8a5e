"""A whole training epoch of a dense MLP (all mini-batches) in one kernel call.

The network is ``[Dense, activation] * n_hidden + [Dense]`` with a fused output loss. Per mini-batch ``B`` of the
sample ``order`` (``batch_size`` rows, the last one shorter) the kernel does exactly what the layered path
(``Sequential.loss_and_grad`` + one optimizer step over the flat vector) does, calling the same kernels in the same
order, so the results are bit-identical:

1. gather ``X[order[B]]`` (and labels / targets / weights) into the preallocated batch buffers;
2. forward: ``dense_forward`` then ``activation_forward`` per hidden layer, ``dense_forward`` for the output;
3. the fused loss + gradient selected by ``loss_code`` (``SOFTMAX_LABELS``: integer labels; ``SOFTMAX``: target
   matrix; ``SIGMOID``; ``SQUARED``; ``POISSON``);
4. ``l2 = alpha / sum_B w`` (``alpha / |B|`` without weights); a batch whose weights sum to 0 is skipped (no step);
   the batch objective is ``L_B = loss + 0.5 l2 sum ||W||^2``, reported as ``(L_B - pen) * scale + pen``;
5. backward: ``dense_backward`` (with ``l2`` as the weight decay; no input gradient for the first layer) and
   ``activation_backward``, writing into the gradient views;
6. the optimizer step over the flat ``params``/``grads`` by ``solver_code`` (``SGD``, ``ADAM`` (AdamW with
   ``weight_decay > 0``; step number ``t0 + steps``), ``ADAGRAD``, ``RMSPROP``), the kernels of ``optim.py``.

Per-layer arrays come as homogeneous tuples (``Ws``/``dWs``: 2-D, ``bs``/``dbs``: 1-D; views into the flat
vectors), the batch work buffers as tuples of ``(batch_size, width)`` arrays: ``zs`` (dense outputs, the last one
the logits), ``hs`` (activation outputs), ``dhs`` (gradients w.r.t. activation outputs), ``dzs`` (w.r.t. dense
outputs, the last one the loss gradient). A kernel compiles once per dtype and depth.

Returns ``(total, steps, status)``: ``total = sum_B |B| L_B`` (reported scale), the number of optimizer steps, and
``status`` = 0, or the 1-based index of the first mini-batch whose objective was not finite (the epoch stops
there, before that batch's step).
"""
import numpy as np

from ._jit import jit
from .activations import activation_backward, activation_forward
from .dense import dense_backward, dense_forward
from .losses import poisson, squared_error
from .optim import adagrad, adam, rmsprop, sgd
from .softmax import sigmoid_cross_entropy, softmax_cross_entropy, softmax_cross_entropy_labels, weight_total

SOFTMAX_LABELS, SOFTMAX, SIGMOID, SQUARED, POISSON = 0, 1, 2, 3, 4
SGD, ADAM, ADAGRAD, RMSPROP = 0, 1, 2, 3


@jit
def mlp_epoch(
    X, labels, Y, w, order, batch_size,
    Ws, bs, dWs, dbs, codes, slopes,
    xbuf, lbuf, ybuf, wbuf, zs, hs, dhs, dzs,
    loss_code, alpha, scale,
    params, grads, s1, s2, solver_code, t0, lr, momentum, dampening, nesterov, beta1, beta2, eps, weight_decay, rho,
):
    """One epoch; see the module docstring. ``labels`` (intp) or ``Y`` (2-D) is empty when unused, ``w`` is empty
    without sample weights; ``s1``/``s2`` are the optimizer's state vectors (empty when unused)."""
    n = order.shape[0]
    n_dense = len(Ws)
    n_feat = X.shape[1]
    weighted = w.shape[0] > 0
    empty_dx = np.empty((0, 0), X.dtype)
    total = 0.0
    steps = 0
    batch = 0
    for start in range(0, n, batch_size):
        batch += 1
        stop = min(start + batch_size, n)
        m = stop - start
        # ---- gather
        xb = xbuf[:m]
        for r in range(m):
            src = order[start + r]
            for j in range(n_feat):
                xb[r, j] = X[src, j]
        if loss_code == SOFTMAX_LABELS:
            for r in range(m):
                lbuf[r] = labels[order[start + r]]
        else:
            for r in range(m):
                src = order[start + r]
                for k in range(Y.shape[1]):
                    ybuf[r, k] = Y[src, k]
        wb = wbuf[:0]
        if weighted:
            wb = wbuf[:m]
            for r in range(m):
                wb[r] = w[order[start + r]]
            w_sum = weight_total(wb)
            if w_sum <= 0.0:
                continue
            l2 = alpha / w_sum
        else:
            l2 = alpha / m
        # ---- forward
        dense_forward(xb, Ws[0], bs[0], zs[0][:m])
        for layer in range(1, n_dense):
            z = zs[layer - 1][:m]
            h = hs[layer - 1][:m]
            activation_forward(z.reshape(-1), codes[layer - 1], slopes[layer - 1], h.reshape(-1))
            dense_forward(h, Ws[layer], bs[layer], zs[layer][:m])
        # ---- loss and its gradient
        logits = zs[n_dense - 1][:m]
        dlogits = dzs[n_dense - 1][:m]
        if loss_code == SOFTMAX_LABELS:
            loss = softmax_cross_entropy_labels(logits, lbuf[:m], wb, dlogits)
        elif loss_code == SOFTMAX:
            loss = softmax_cross_entropy(logits, ybuf[:m], wb, dlogits)
        elif loss_code == SIGMOID:
            loss = sigmoid_cross_entropy(logits, ybuf[:m], wb, dlogits)
        elif loss_code == SQUARED:
            loss = squared_error(logits, ybuf[:m], wb, dlogits)
        else:
            loss = poisson(logits, ybuf[:m], wb, dlogits)
        # ---- backward
        for layer in range(n_dense - 1, 0, -1):
            h = hs[layer - 1][:m]
            dh = dhs[layer - 1][:m]
            dense_backward(h, Ws[layer], dzs[layer][:m], l2, dWs[layer], dbs[layer], dh)
            activation_backward(h.reshape(-1), dh.reshape(-1), codes[layer - 1], slopes[layer - 1],
                                dzs[layer - 1][:m].reshape(-1))
        dense_backward(xb, Ws[0], dzs[0][:m], l2, dWs[0], dbs[0], empty_dx)
        # ---- objective (as Sequential.penalty: 0.5 * l2 * sum of the weights' squared norms)
        penalty = 0.0
        if l2 != 0.0:
            sq = 0.0
            for layer in range(n_dense):
                flat = Ws[layer].reshape(-1)
                sq += np.float64(np.dot(flat, flat))
            penalty = 0.5 * l2 * sq
        loss = loss + penalty
        if not np.isfinite(loss):
            return total, steps, batch
        if scale != 1.0:
            loss = (loss - penalty) * scale + penalty
        # ---- optimizer step over the flat vector
        steps += 1
        if solver_code == SGD:
            sgd(params, grads, s1, lr, momentum, dampening, nesterov)
        elif solver_code == ADAM:
            adam(params, grads, s1, s2, t0 + steps, lr, beta1, beta2, eps, weight_decay)
        elif solver_code == ADAGRAD:
            adagrad(params, grads, s1, lr, eps)
        else:
            rmsprop(params, grads, s1, lr, rho, eps)
        total += loss * m
    return total, steps, 0


@jit
def mlp_forward(X, Ws, bs, codes, slopes):
    """Inference through the same ``Dense (activation Dense)*`` stack: ``dense_forward`` and
    ``activation_forward`` in the layered order (so the logits are bit-identical to ``Sequential.forward``), in one
    call. Allocates its outputs (nothing shared: safe to call from several threads); returns the logits."""
    n = X.shape[0]
    z = np.empty((n, Ws[0].shape[1]), X.dtype)
    dense_forward(X, Ws[0], bs[0], z)
    for layer in range(1, len(Ws)):
        activation_forward(z.reshape(-1), codes[layer - 1], slopes[layer - 1], z.reshape(-1))
        out = np.empty((n, Ws[layer].shape[1]), X.dtype)
        dense_forward(z, Ws[layer], bs[layer], out)
        z = out
    return z
