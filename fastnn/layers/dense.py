"""``Dense``: the affine layer."""
import numpy as np

from ..kernels import dense as _dense
from .base import Layer
from .init import INITS, uniform_bounds


class Dense(Layer):
    """Affine layer ``y = x @ W + b``; ``x (N, n_in)``, ``W (n_in, n_out)``, ``b (n_out,)``.

    Initialisation ``init``: ``"glorot"`` (the default, scikit-learn's), ``"glorot_logistic"`` or ``"he"``, the
    rules of ``fastnn.layers.init`` with fans ``n_in``/``n_out``; ``build`` draws W, then b (a zero bias draws
    zeros, so the rng advances alike for every rule). ``W`` is L2-penalised: ``backward(dout, l2)`` adds ``l2 * W`` to dW.

    Parameters
    ----------
    n_out : int
        Number of output features, ``>= 1``.
    init : {"glorot", "glorot_logistic", "he"}, default="glorot"
        Initialisation rule of ``W`` and ``b``.

    Attributes
    ----------
    W : ndarray of shape (n_in, n_out)
        Weights (after ``build``).
    b : ndarray of shape (n_out,)
        Bias (after ``build``).

    Examples
    --------
    >>> from fastnn.layers import Dense
    >>> layer = Dense(4)
    >>> layer.build((3,), np.float32, np.random.default_rng(0))
    (4,)
    >>> layer.forward(np.ones((2, 3), np.float32)).shape
    (2, 4)
    """

    output_reusable = True

    def __init__(self, n_out, init="glorot"):
        super().__init__()
        if not isinstance(n_out, (int, np.integer)) or isinstance(n_out, bool) or n_out < 1:
            raise ValueError(f"Dense: n_out must be a positive integer, got {n_out!r}.")
        if init not in INITS:
            raise ValueError(f"Dense: init must be one of {INITS}, got {init!r}.")
        self.n_out, self.init = int(n_out), init

    def _build(self, input_shape, rng):
        if len(input_shape) != 1:
            raise ValueError(f"Dense expects 1-D features per sample, got shape {input_shape}; add Flatten().")
        n_in = input_shape[0]
        bound, bias_bound = uniform_bounds(self.init, n_in, self.n_out)
        W = rng.uniform(-bound, bound, (n_in, self.n_out)).astype(self.dtype)
        b = rng.uniform(-bias_bound, bias_bound, self.n_out).astype(self.dtype)
        self.params, self.grads, self.penalized = [W, b], [np.zeros_like(W), np.zeros_like(b)], [True, False]
        self._bound()
        return (self.n_out,)

    def init_bounds(self):
        """``(r_W, r_b)`` of this layer's initialisation rule (``fastnn.layers.init``); needs ``build``."""
        return uniform_bounds(self.init, *self.W.shape)

    def _bound(self):
        self.W, self.b = self.params
        self.dW, self.db = self.grads

    def _forward(self, x, training):
        out = self._out("out", x.shape[0], (self.n_out,), training)
        _dense.dense_forward(x, self.W, self.b, out)
        if training:
            self._x = x
        return out

    def backward(self, dout, l2=0.0):
        x = self._cached("_x")
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        if self.input_grad:
            dx = self._out("dx", x.shape[0], self.input_shape, True)
        else:
            dx = np.empty((0, 0), self.dtype)
        _dense.dense_backward(x, self.W, dout, l2, self.dW, self.db, dx)
        return dx if self.input_grad else None

    def __repr__(self):
        return f"Dense({self.n_out})"
