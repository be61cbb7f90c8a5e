"""``Sequential``: a stack of layers, a loss and an optimizer, with one flat parameter vector.

After ``build``, each layer's parameters are views into ``flat_params`` and its gradients views into
``flat_grads`` (same order), so an optimizer step is one kernel call over the whole vector, L-BFGS sees the
vector without packing, and ``copy_params``/``load_params`` are one copy each. "State" means only the layers'
non-trainable arrays (``flat_state``: BatchNorm's running statistics).

The objective of ``loss_and_grad`` / ``train_step`` is ``loss(forward(X), y, w) + 0.5 * l2 * sum ||W||^2``
over the penalised arrays (weights, not biases), with the coefficient ``l2`` an argument of each call (it changes
from batch to batch: the solvers pass ``alpha / sum_B w``); each layer's ``backward(dout, l2)`` adds its share.

``train_epoch`` runs a whole mini-batch epoch and ``logits`` inference on many rows; both choose between the
layer-by-layer path and the fused kernels of ``kernels.mlp`` (``fastnn.network.fused``: eligibility and the tiered plan),
which give bit-identical results.
"""
import contextlib
import math
import os

import numpy as np
import scipy.sparse as sp

from . import background, compile_helper
from .channels_last import ConvStack, inference_steps
from .fused import FusedMLP
from .summary import summarize
from ..kernels import on_first_miss
from ..kernels import softmax as _softmax
from ..layers import Activation, BatchNorm, kernel_array
from ..layers.threads import blas_at_most
from ..layers.workspace import MAX_VALUES, REUSE_VALUES, reused_outputs
from ..optimizers import Adam

#: Rows densified at a time when X is sparse (here for inference; the L-BFGS solver chunks its objective alike).
SPARSE_CHUNK = 2048


class Sequential:
    """A stack of layers with a loss (on the logits) and an optimizer, over one flat parameter vector.

    ``build(input_shape, dtype=np.float32, random_state=None)`` builds the layers for per-sample ``input_shape``
    (the batch axis excluded) and makes every layer's parameters views into ``flat_params`` and its gradients views
    into ``flat_grads``, so that one optimizer step updates the whole vector and saving or restoring the weights
    is one copy (``copy_params``, ``load_params``). It returns the network. ``forward(X)`` and ``logits(X)`` give
    the logits, ``predict(X)`` the float64 outputs through the loss's link (probabilities for the
    cross-entropies); ``train_step(X, y)`` takes one optimizer step on a batch and ``train_epoch`` a whole
    mini-batch epoch. The estimators build one of these; ``network_`` is a fitted estimator's.

    Parameters
    ----------
    layers : list of fastnn.layers.Layer
        The layers in order; the last one emits the logits the loss takes. Built in place by ``build``.
    loss : fastnn.losses.Loss
        The loss on the logits, e.g. ``SoftmaxCrossEntropy()`` (integer labels or one-hot targets).
    optimizer : fastnn.optimizers.Optimizer or None, default=None
        The optimizer of ``train_step`` and ``train_epoch``; None means ``Adam(1e-3)``.
    fused : {'auto', True, False}, default='auto'
        How ``train_epoch`` and ``logits`` run a ``Dense (activation Dense)*`` stack: ``'auto'`` (the tiered plan
        of ``fastnn.network.fused``: one fused kernel call once that kernel is compiled, or when the remaining work
        repays compiling it), ``True`` (always the fused kernel) or ``False`` (layer by layer). Other stacks always
        run layer by layer; both ways give bit-identical results.

    Attributes
    ----------
    flat_params : ndarray of shape (n_params,)
        Every parameter array of every layer, in layer order (after ``build``).
    flat_grads : ndarray of shape (n_params,)
        Their gradients, same layout, filled by ``loss_and_grad`` and ``train_step``.
    flat_state : ndarray of shape (n_state,)
        The layers' non-trainable arrays (``BatchNorm``'s running statistics), same idea.
    input_shape, output_shape : tuple of int
        Per-sample shapes of the input and of the logits (after ``build``).
    dtype : numpy.dtype
        float32 or float64 (after ``build``).
    built : bool
        Whether ``build`` ran.
    fused_epochs : int
        How many calls of ``train_epoch`` ran as one fused kernel call.
    layered_epochs : int
        How many ran layer by layer.

    See Also
    --------
    NeuralNetClassifier, NeuralNetRegressor : Train a stack of layers with scikit-learn's interface.

    Notes
    -----
    The objective of ``loss_and_grad`` and ``train_step`` on a batch is ``loss(forward(X), y, w) + 0.5 * l2 *
    sum ||W||^2``, the penalty over the arrays marked in each layer's ``penalized`` (weights, not biases).
    ``train_epoch`` uses ``l2 = alpha / sum_B w`` for each batch ``B``, scikit-learn's MLP objective.

    Examples
    --------
    >>> from fastnn import Adam, Dense, ReLU, Sequential, SoftmaxCrossEntropy
    >>> net = Sequential([Dense(16), ReLU(), Dense(3)], SoftmaxCrossEntropy(), Adam(0.01))
    >>> net = net.build((4,), np.float64, random_state=0)
    >>> net.flat_params.shape  # 4 * 16 + 16 + 16 * 3 + 3
    (131,)
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 4))
    >>> y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    >>> losses = [net.train_step(X, y) for _ in range(100)]
    >>> bool(losses[-1] < 0.5 * losses[0])
    True
    >>> net.predict(X).shape
    (60, 3)
    """

    def __init__(self, layers, loss, optimizer=None, fused="auto"):
        if fused not in ("auto", True, False):
            raise ValueError(f"fused must be 'auto', True or False, got {fused!r}.")
        self.layers = list(layers)
        self.loss = loss
        self.optimizer = optimizer if optimizer is not None else Adam(1e-3)
        self.fused = fused
        self.fused_epochs = 0
        self.layered_epochs = 0
        self.built = False

    def build(self, input_shape, dtype=np.float32, random_state=None):
        """Build every layer for per-sample ``input_shape`` and gather parameters into flat vectors; returns the
        network. ``random_state`` (None, an int or a ``numpy.random.Generator``) seeds the initial weights."""
        rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
        self.dtype = np.dtype(dtype)
        shape = tuple(input_shape)
        self.input_shape = shape
        for layer in self.layers:
            shape = layer.build(shape, self.dtype, rng)
        self.output_shape = shape
        sizes = [p.size for layer in self.layers for p in layer.params]
        self.flat_params = np.empty(sum(sizes), self.dtype)
        self.flat_grads = np.zeros(sum(sizes), self.dtype)
        offset = 0
        for layer in self.layers:
            views, grad_views = [], []
            for p in layer.params:
                views.append(self.flat_params[offset : offset + p.size].reshape(p.shape))
                grad_views.append(self.flat_grads[offset : offset + p.size].reshape(p.shape))
                offset += p.size
            layer.bind(views, grad_views)
        # Non-trainable layer state (BatchNorm's running statistics): views into one flat vector, like the params.
        self.flat_state = np.empty(sum(s.size for layer in self.layers for s in layer.state), self.dtype)
        offset = 0
        for layer in self.layers:
            views = []
            for s in layer.state:
                views.append(self.flat_state[offset : offset + s.size].reshape(s.shape))
                offset += s.size
            layer.bind_state(views)
        # Backward stops at the first layer with parameters, which needs no input gradient.
        trainable = [i for i, layer in enumerate(self.layers) if layer.params]
        self._first = trainable[0] if trainable else len(self.layers)
        for i, layer in enumerate(self.layers):
            layer.input_grad = i > self._first
            if isinstance(layer, Activation):
                layer.in_place = 0 < i < len(self.layers) - 1 and self.layers[i - 1].output_reusable
        # The penalised arrays as flat views, made once: penalty() runs on every layered step.
        self._penalized = [
            p.reshape(-1) for layer in self.layers for p, pen in zip(layer.params, layer.penalized) if pen
        ]
        self._plan = None
        self._layered_buffers = None
        self._widest_output = None
        self._steps = None
        self.optimizer.reset()
        self.built = True
        return self

    @property
    def params(self):
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self):
        return [g for layer in self.layers for g in layer.grads]

    def _ensure_built(self, X):
        if not self.built:
            self.build(np.shape(X)[1:], np.float32 if np.asarray(X).dtype == np.float32 else np.float64)

    def forward(self, X, training=False):
        """Network output (logits) for a batch ``X`` of shape ``(N, *input_shape)``."""
        self._ensure_built(X)
        if training:
            out = self.layers[0].forward(X, training)
            for layer in self.layers[1:]:  # each layer's output is a valid input of the next: no re-checking
                out = layer._forward(out, training)
            return out
        # Inference: intermediate outputs in this thread's reused arrays, over blocks of rows whose widest output
        # fits them (a 10,000-image batch would otherwise make and first-touch GB-sized outputs layer by layer);
        # with layers that split the batch across threads, BLAS at one thread for the whole pass: a BLAS call at
        # two threads in between (a Dense layer) leaves OpenBLAS's worker spinning on the second core while the
        # next layer's threads need it (measured: 8.9 -> 5.0 ms for the digits CNN's 1797 rows on two cores).
        X = self.layers[0]._input(X)
        n = X.shape[0]
        if n * self._widest() < REUSE_VALUES:
            return self._inference(X, None)  # small: fresh arrays come from the heap, no layer splits
        block = max(1, MAX_VALUES // self._widest())
        with reused_outputs() as pool, self._blas_for_splits(min(n, block), inference=True):
            if pool is None or n <= block:
                out = self._inference(X, pool)
                return out.copy() if pool is not None and pool.owns(out) else out
            out = None
            for start in range(0, n, block):
                part = self._inference(X[start : start + block], pool)
                if out is None:
                    out = np.empty((n, *part.shape[1:]), part.dtype)
                out[start : start + part.shape[0]] = part
            return out

    def _inference(self, X, pool):
        for step in self._inference_steps():
            for layer in (step,) if not isinstance(step, ConvStack) or step.ready(self.fused) else step.layers:
                if pool is not None:
                    pool.input = X
                X = layer._forward(X, False)
        return X

    def predict(self, X):
        """float64 predictions through the loss's output link (probabilities for the cross-entropies)."""
        return self.loss.output(self.logits(X))

    def logits(self, X):
        """Inference logits for ``X``: ``(N, *input_shape)``, or rows ``(N, prod(input_shape))`` (reshaped, as
        views), dense or SciPy-sparse (densified ``SPARSE_CHUNK`` rows at a time). Allocates its outputs and caches
        nothing, so concurrent calls are safe."""
        self._ensure_built(X)
        if sp.issparse(X):
            X = X.tocsr()
            out = np.empty((X.shape[0], *self.output_shape), self.dtype)
            for start in range(0, X.shape[0], SPARSE_CHUNK):
                rows = X[start : start + SPARSE_CHUNK].toarray()
                out[start : start + rows.shape[0]] = self.logits(rows)
            return out
        plan = self._fused_plan()
        if plan is not None and np.ndim(X) == 2 and np.shape(X)[1:] == self.input_shape:
            X = kernel_array(X, self.dtype)
            if plan.forward_ready(X):
                return plan.forward(X)  # = the layered result, in one call
            if X.shape[0] * self._widest() < REUSE_VALUES:
                return plan.python_forward(X)  # = the layered result (one block), without the layers' checks
        X = np.asarray(X)
        return self.forward(X.reshape(X.shape[0], *self.input_shape), training=False)

    def penalty(self, l2):
        """``0.5 * l2 * sum ||W||^2`` over the penalised parameters."""
        if not l2:
            return 0.0
        with np.errstate(over="ignore"):  # diverging weights: inf here, reported by the caller's finiteness check
            return self.penalty_unchecked(l2)

    def penalty_unchecked(self, l2):
        """``penalty(l2)`` for a caller that already ignores floating-point overflow (``np.errstate``) around it:
        ``FusedMLP.python_epoch`` enters that context once per epoch instead of once per mini-batch."""
        return 0.5 * l2 * sum(float(np.dot(p, p)) for p in self._penalized)

    def loss_and_grad(self, X, y, sample_weight=None, l2=0.0):
        """Objective on a batch with L2 coefficient ``l2``; fills ``flat_grads`` with its gradient."""
        logits = self.forward(X, training=True)
        loss = self.loss.forward(logits, y, sample_weight)
        dout = self.loss.backward()
        for layer in reversed(self.layers[self._first :]):
            dout = layer.backward(dout, l2)
        return loss + self.penalty(l2)

    def train_step(self, X, y, sample_weight=None, l2=0.0):
        """One optimizer step on a batch; returns the batch objective before the step."""
        self._ensure_built(X)
        with self._blas_for_splits(np.shape(X)[0]):
            loss = self.loss_and_grad(X, y, sample_weight, l2)
            self.optimizer.step([self.flat_params], [self.flat_grads])
        return loss

    def _blas_for_splits(self, n, inference=False):
        """BLAS at one thread within the block when a layer (at ``inference``, also a conv stack) splits a batch of
        ``n`` across threads: a BLAS call at two threads between their passes (a Dense layer, the optimizer) leaves
        OpenBLAS's worker spinning on the core the split needs. Otherwise BLAS as set."""
        steps = self.layers
        if inference:
            steps = steps + [s for s in self._inference_steps() if isinstance(s, ConvStack)]
        return blas_at_most(1) if any(step.splits(n) for step in steps) else contextlib.nullcontext()

    def train_epoch(self, X, Y, sample_weight, order, batch_size, alpha, scale=1.0, steps_left=0):
        """One optimizer step per mini-batch of ``order`` (``batch_size`` rows, the last one shorter) over rows ``X``
        (dense or sparse; reshaped to ``input_shape``), targets ``Y`` and optional ``sample_weight``.

        Per batch ``B`` the objective is ``L_B = loss + 0.5 * (alpha / sum_B w) * sum ||W||^2`` (``alpha / |B|``
        unweighted); a batch of zero total weight is skipped. The reported loss is
        ``(L_B - penalty) * scale + penalty``. Returns ``(sum_B |B| L_B, steps, status)`` with ``status`` the
        1-based index of the first batch whose objective is not finite (the epoch stops before its step), else 0.
        ``steps_left`` (the steps the caller still expects in this fit) feeds the ``'auto'`` tier.
        """
        self._ensure_built(X)
        plan = self._fused_plan()
        if plan is not None:
            call = plan.epoch_call(X, Y, sample_weight, order, batch_size, alpha, scale)
            if call is not None and (self.fused is True or plan.worth_fusing(call, steps_left)):
                self.fused_epochs += 1
                return plan.epoch(call)
            if call is None:
                def run():
                    return self._layered_epoch(X, Y, sample_weight, order, batch_size, alpha, scale)
            else:  # the fused epoch's kernels, called from Python
                def run():
                    self.layered_epochs += 1
                    with on_first_miss(lambda: self._start_helper(X, Y, sample_weight, order[:2])):
                        return plan.python_epoch(call)
            if background.running(self.dtype):
                # The compile keeps a core busy: BLAS threads that wait for it would slow every GEMM several-fold.
                with blas_at_most(max(1, (os.cpu_count() or 1) - 1)):
                    return run()
            result = run()
            if self.layered_epochs == 1:
                background.pending(self.dtype, plan.codes)  # its kernels are compiled now: the fused epoch's turn
            return result
        return self._layered_epoch(X, Y, sample_weight, order, batch_size, alpha, scale)

    def _widest(self):
        """Values per sample of the largest layer output (computed once per built network)."""
        widest = getattr(self, "_widest_output", None)  # None until the first inference (or from an older pickle)
        if widest is None:
            widest = self._widest_output = max(math.prod(layer.output_shape) for layer in self.layers)
        return widest

    def _inference_steps(self):
        """The layers an inference pass runs, conv stacks as one channels-last step each (``channels_last``); made
        once per built network."""
        steps = getattr(self, "_steps", None)  # None until the first inference (or from an older pickle)
        if steps is None:
            steps = self._steps = inference_steps(self.layers)
        return steps

    def _fused_plan(self):
        """The ``FusedMLP`` of this built network, made on first use; None when it does not fuse (``fused=False``,
        or a stack other than ``Dense (activation Dense)*``)."""
        if self.fused is False:
            return None
        if self._plan is None:
            self._plan = FusedMLP(self) if FusedMLP.eligible(self.layers) else False
        return self._plan or None

    def _min_train_rows(self):
        """Rows a training batch needs: 2 when a BatchNorm normalises features (N, F) over the batch rows alone (one
        row has no variance), else 1."""
        return 2 if any(isinstance(layer, BatchNorm) and len(layer.input_shape) == 1 for layer in self.layers) else 1

    def _layered_epoch(self, X, Y, sample_weight, order, batch_size, alpha, scale):
        n = X.shape[0]
        starts = list(range(0, n, batch_size))
        # A last batch too short to train on (one row into a feature BatchNorm) joins the batch before it.
        merge = len(starts) > 1 and n - starts[-1] < self._min_train_rows()
        if merge:
            starts.pop()
        rows = max(batch_size, n - starts[-1]) if starts else batch_size
        xbuf, ybuf, wbuf = self._batch_buffers(X, Y, sample_weight, rows)
        params, grads = [self.flat_params], [self.flat_grads]
        sparse = sp.issparse(X)
        total, steps = 0.0, 0
        self.layered_epochs += 1
        # A cold cache: the first compile starts a helper process compiling this network's kernels from the end.
        def helper():
            self._start_helper(xbuf, ybuf, wbuf, slice(0, 2))

        with on_first_miss(helper), self._blas_for_splits(min(batch_size, n)):
            for start in starts:
                stop = n if merge and start == starts[-1] else min(start + batch_size, n)
                m = stop - start
                idx = order[start:stop]
                xb = xbuf[:m]
                if sparse:
                    xb[...] = X[idx].toarray()
                else:
                    np.take(X, idx, axis=0, out=xb, mode="clip")
                yb = ybuf[:m]
                np.take(Y, idx, axis=0, out=yb, mode="clip")
                if wbuf is None:
                    wb = None
                    l2 = alpha / m
                else:
                    wb = wbuf[:m]
                    np.take(sample_weight, idx, out=wb, mode="clip")
                    w_sum = _softmax.weight_total(wb)
                    if w_sum <= 0.0:
                        continue  # a batch of zero-weight samples carries no data: no step (and no 0/0 loss)
                    l2 = alpha / w_sum
                loss = self.loss_and_grad(xb.reshape(m, *self.input_shape), yb, wb, l2)
                if not math.isfinite(loss):
                    return total, steps, start // batch_size + 1
                if scale != 1.0:
                    penalty = self.penalty(l2)
                    loss = (loss - penalty) * scale + penalty
                self.optimizer.step(params, grads)
                steps += 1
                total += loss * m
        return total, steps, 0

    def _start_helper(self, X, Y, sample_weight, rows):
        """Start the compile helper (``compile_helper.start``) with these ``rows`` of a training batch."""
        weights = None if sample_weight is None else sample_weight[rows]
        compile_helper.start(self, X[rows].reshape(-1, *self.input_shape), Y[rows], weights)

    def _batch_buffers(self, X, Y, sample_weight, batch_size):
        """Preallocated batch buffers (rows, targets, weights), kept across epochs of the same shapes."""
        key = (batch_size, X.shape[1], Y.shape[1:], Y.dtype, sample_weight is not None)
        cached = self._layered_buffers
        if cached is None or cached[0] != key:
            buffers = (
                np.empty((batch_size, X.shape[1]), self.dtype),
                np.empty((batch_size,) + Y.shape[1:], Y.dtype),
                None if sample_weight is None else np.empty(batch_size, self.dtype),
            )
            cached = self._layered_buffers = (key, buffers)
        return cached[1]

    def copy_params(self):
        """A copy of all parameters (one flat vector)."""
        return self.flat_params.copy()

    def load_params(self, vector):
        """Copy a vector from ``copy_params`` back into the parameters (in place; views stay valid)."""
        vector = np.asarray(vector)
        if vector.shape != self.flat_params.shape:
            raise ValueError(
                f"the vector has shape {vector.shape}, the network has {self.flat_params.shape} parameters."
            )
        self.flat_params[...] = vector

    def summary(self):
        """The layer table (``fastnn.network.summary.Summary``): output shapes, parameter counts, dtype, fused path."""
        return summarize(self)

    def __repr__(self):
        return f"Sequential([{', '.join(map(repr, self.layers))}], {self.loss!r}, {self.optimizer!r})"
