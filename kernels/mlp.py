"""A dense MLP's whole training epoch, or its forward pass, in one kernel call, for any depth and width.

The network is ``[Dense, activation] * n_hidden + [Dense]`` with a fused output loss. Its parameters are one flat
vector ``params`` (gradients: ``grads``, same layout) described by an int64 ``table`` with one row per dense layer:

    ``table[l] = (n_in, n_out, w_off, b_off, act, z_off, dz_off, h_off, dh_off)``

``W_l = params[w_off : w_off + n_in * n_out].reshape(n_in, n_out)``, ``b_l = params[b_off : b_off + n_out]``; ``act``
is the activation code applied after a hidden layer (``kernels.activations``; -1 for the output layer) with slope
``slopes[l]``. The ``*_off`` columns place the per-layer batch buffers (``batch_size x n_out`` each) in the flat
``work`` vector: ``z`` (dense outputs; the last one the logits), ``dz`` (gradients w.r.t. them; the last one the
loss gradient), ``h`` (activation outputs) and ``dh`` (gradients w.r.t. them); -1 where unused. Since every depth
and width has the same argument types, ``mlp_forward`` compiles once per dtype, and the epoch kernel once per dtype,
loss and optimizer rule (``epoch_kernel(loss_code, solver_code)``).

Per mini-batch ``B`` of the sample ``order`` (``batch_size`` rows, the last one shorter) the epoch kernel does exactly
what the layered path (``Sequential``'s layers, the loss object, one optimizer step over the flat vector) does,
calling the same kernels in the same order, so the results are bit-identical:

1. gather ``X[order[B]]`` (and labels / targets / weights) into the batch buffers;
2. forward: ``dense_forward`` then ``activation_forward`` per hidden layer, ``dense_forward`` for the output;
3. the fused loss + gradient of the kernel's loss code (``SOFTMAX_LABELS``: integer labels; ``SOFTMAX``: target
   matrix; ``SIGMOID``; ``SQUARED``; ``POISSON``; ``ABSOLUTE``; ``HUBER``, whose threshold is ``loss_param``;
   ``loss_param`` is unused by the others);
4. ``l2 = alpha / sum_B w`` (``alpha / |B|`` without weights); a batch whose weights sum to 0 is skipped (no step);
   the batch objective is ``L_B = loss + 0.5 l2 sum ||W||^2``, reported as ``(L_B - pen) * scale + pen``;
5. backward: ``dense_backward`` (``l2`` as weight decay; no input gradient for the first layer) and
   ``activation_backward``;
6. the optimizer step over the flat vectors: the ``kernels.optim`` rule of the kernel's solver code, with its
   hyperparameters read from ``hyper`` (positions ``codes.LR`` ...), step number ``t0 + steps``.

Returns ``(total, steps, status)``: ``total = sum_B |B| L_B`` (reported scale), the number of optimizer steps, and
``status`` = 0, or the 1-based index of the first mini-batch whose objective was not finite (the epoch stops
there, before that batch's step).
"""
import numpy as np

from ._jit import jit
from .blas import dot
from .activations import activation_backward, activation_forward
from .codes import (  # noqa: F401  (re-exported: the loss codes and the table's columns)
    ABSOLUTE, ACT, ADAGRAD, ADAM, B_OFF, BETA1, BETA2, DAMPENING, DH_OFF, DZ_OFF, EPS, H_OFF, HUBER, LR, MOMENTUM,
    N_IN, N_OUT, NESTEROV, POISSON, RHO, RMSPROP, SGD, SIGMOID, SOFTMAX, SOFTMAX_LABELS, SQUARED, W_OFF, WEIGHT_DECAY,
    Z_OFF,
)
from .dense import dense_backward, dense_forward
from .losses import absolute_error, huber, poisson, squared_error
from .optim import adagrad, adam, rmsprop, sgd
from .softmax import sigmoid_cross_entropy, softmax_cross_entropy, softmax_cross_entropy_labels, weight_total


@jit(inline="always")
def _rows(flat, offset, m, width):
    """The ``(m, width)`` C-contiguous view of ``flat[offset:]``."""
    return flat[offset : offset + m * width].reshape((m, width))


def epoch_kernel(loss_code, solver_code):
    """The ``mlp_epoch`` kernel for one loss (``SOFTMAX_LABELS`` ... ``HUBER``) and one optimizer rule (``SGD``,
    ``ADAM``, ``ADAGRAD``, ``RMSPROP``). The two codes are constants of its code, so Numba drops the other losses'
    and rules' branches before typing: a variant compiles in about 60% of the time one kernel for every combination
    took (only the kernels it calls are compiled with it), and each is cached in files of its own."""
    return _EPOCHS[int(loss_code), int(solver_code)]


def _specialise(LOSS, SOLVER):  # noqa: N803  (constants of the kernel made here)
    @jit
    def mlp_epoch(
        X, labels, Y, w, order, batch_size, table, slopes, params, grads, work, xbuf, lbuf, ybuf, wbuf,
        loss_param, alpha, scale, s1, s2, t0, hyper,
    ):
        """One epoch with the loss ``LOSS`` and the optimizer rule ``SOLVER``; see the module docstring. ``labels``
        (intp) or ``Y`` (2-D) is empty when unused, ``w`` is empty without sample weights; ``s1``/``s2`` are the
        optimizer's state vectors (empty when unused) and ``hyper`` its float64 hyperparameters (``codes.LR``...)."""
        n = order.shape[0]
        n_dense = table.shape[0]
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
            if LOSS == SOFTMAX_LABELS:
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
            h = xb
            for layer in range(n_dense):
                n_in, n_out = table[layer, N_IN], table[layer, N_OUT]
                W = _rows(params, table[layer, W_OFF], n_in, n_out)
                z = _rows(work, table[layer, Z_OFF], m, n_out)
                dense_forward(h, W, params[table[layer, B_OFF] : table[layer, B_OFF] + n_out], z)
                if layer < n_dense - 1:
                    h = _rows(work, table[layer, H_OFF], m, n_out)
                    activation_forward(z.reshape(-1), table[layer, ACT], slopes[layer], h.reshape(-1))
            # ---- loss and its gradient
            n_out = table[n_dense - 1, N_OUT]
            logits = _rows(work, table[n_dense - 1, Z_OFF], m, n_out)
            dlogits = _rows(work, table[n_dense - 1, DZ_OFF], m, n_out)
            if LOSS == SOFTMAX_LABELS:
                loss = softmax_cross_entropy_labels(logits, lbuf[:m], wb, dlogits)
            elif LOSS == SOFTMAX:
                loss = softmax_cross_entropy(logits, ybuf[:m], wb, dlogits)
            elif LOSS == SIGMOID:
                loss = sigmoid_cross_entropy(logits, ybuf[:m], wb, dlogits)
            elif LOSS == SQUARED:
                loss = squared_error(logits, ybuf[:m], wb, dlogits)
            elif LOSS == POISSON:
                loss = poisson(logits, ybuf[:m], wb, dlogits)
            elif LOSS == ABSOLUTE:
                loss = absolute_error(logits, ybuf[:m], wb, dlogits)
            else:
                loss = huber(logits, ybuf[:m], wb, loss_param, dlogits)
            # ---- backward
            for layer in range(n_dense - 1, -1, -1):
                n_in, n_out = table[layer, N_IN], table[layer, N_OUT]
                W = _rows(params, table[layer, W_OFF], n_in, n_out)
                dW = _rows(grads, table[layer, W_OFF], n_in, n_out)
                db = grads[table[layer, B_OFF] : table[layer, B_OFF] + n_out]
                dz = _rows(work, table[layer, DZ_OFF], m, n_out)
                if layer == 0:
                    dense_backward(xb, W, dz, l2, dW, db, empty_dx)
                else:
                    below = layer - 1
                    h = _rows(work, table[below, H_OFF], m, n_in)
                    dh = _rows(work, table[below, DH_OFF], m, n_in)
                    dense_backward(h, W, dz, l2, dW, db, dh)
                    dz_below = _rows(work, table[below, DZ_OFF], m, n_in)
                    activation_backward(h.reshape(-1), dh.reshape(-1), table[below, ACT], slopes[below],
                                        dz_below.reshape(-1))
            # ---- objective (as Sequential.penalty: 0.5 * l2 * sum of the weights' squared norms)
            penalty = 0.0
            if l2 != 0.0:
                sq = 0.0
                for layer in range(n_dense):
                    flat = params[table[layer, W_OFF] : table[layer, W_OFF] + table[layer, N_IN] * table[layer, N_OUT]]
                    sq += np.float64(dot(flat, flat))
                penalty = 0.5 * l2 * sq
            loss = loss + penalty
            if not np.isfinite(loss):
                return total, steps, batch
            if scale != 1.0:
                loss = (loss - penalty) * scale + penalty
            # ---- optimizer step over the flat vector
            steps += 1
            t = t0 + steps
            if SOLVER == SGD:
                sgd(params, grads, s1, hyper[LR], hyper[MOMENTUM], hyper[DAMPENING], hyper[NESTEROV] != 0.0)
            elif SOLVER == ADAM:
                adam(params, grads, s1, s2, t, hyper[LR], hyper[BETA1], hyper[BETA2], hyper[EPS], hyper[WEIGHT_DECAY])
            elif SOLVER == ADAGRAD:
                adagrad(params, grads, s1, hyper[LR], hyper[EPS])
            else:
                rmsprop(params, grads, s1, hyper[LR], hyper[RHO], hyper[EPS])
            total += loss * m
        return total, steps, 0

    return mlp_epoch


# Made with the module (nothing compiles until a variant is called), so that every kernel of a process takes its
# cache folder at the same moment.
_EPOCHS = {
    (loss, rule): _specialise(loss, rule)
    for loss in (SOFTMAX_LABELS, SOFTMAX, SIGMOID, SQUARED, POISSON, ABSOLUTE, HUBER)
    for rule in (SGD, ADAM, ADAGRAD, RMSPROP)
}


@jit
def mlp_forward(X, table, slopes, params):
    """Inference through the same stack: ``dense_forward`` and ``activation_forward`` in the layered order (so the
    logits are bit-identical to ``Sequential.forward``), in one call. Allocates its outputs (nothing shared: safe
    to call from several threads); returns the logits."""
    n = X.shape[0]
    z = X
    for layer in range(table.shape[0]):
        n_in, n_out = table[layer, N_IN], table[layer, N_OUT]
        if layer > 0:
            activation_forward(z.reshape(-1), table[layer - 1, ACT], slopes[layer - 1], z.reshape(-1))
        out = np.empty((n, n_out), X.dtype)
        b_off = table[layer, B_OFF]
        dense_forward(z, _rows(params, table[layer, W_OFF], n_in, n_out), params[b_off : b_off + n_out], out)
        z = out
    return z
