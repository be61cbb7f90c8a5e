"""Losses: ``forward(logits, y, sample_weight=None) -> float`` and ``backward() -> dlogits``.

Every loss takes the network's raw output (logits / linear predictor) and fuses the output link with the
loss, so the gradient is the simple ``p - y`` form and no log of a probability is ever taken. Losses are
weighted means over samples, summed over outputs: ``L = sum_i w_i l_i / sum_i w_i``. ``output(logits)`` maps
logits to predictions (probabilities, means); ``link`` names that map.

``code`` names the loss in the fused dense epoch (``kernels.mlp``) and ``param`` is the float parameter its kernel
takes (HuberLoss's ``delta``, 0 for the others), as ``Activation.code``/``slope`` and ``Optimizer.code``/``hyper()``
do for the activations and optimizers; a loss with ``code = None`` trains layer by layer.
"""
import numpy as np

from .kernels import codes
from .kernels import losses as _losses
from .kernels import output as _output
from .kernels import softmax as _softmax


class Loss:
    """Base class of the losses: a weighted mean over samples of a per-sample loss of the logits.

    For logits ``z (N, K)``, targets ``y`` and sample weights ``w`` (ones when absent),
    ``forward(z, y, sample_weight=None)`` returns ``L = sum_i w_i l_i / sum_i w_i`` as a float and keeps the
    gradient ``dz = dL/dz (N, K)``, which ``backward()`` returns. The output link (softmax, logistic, exp or
    identity) is part of the loss, so the gradient takes the form ``(link(z) - y) w_i / sum(w)`` and no log of a
    probability is taken. ``output(z)`` applies the link and returns float64 predictions (probabilities, means).

    A subclass sets ``link`` and implements ``_kernel(z, Y, w, dz) -> L``, which writes ``dz`` (``Y`` the targets
    as ``(N, K)`` in ``z``'s dtype, ``w`` the weights or an empty array); ``code`` and ``param`` let the fused
    dense epoch (``fastnn.kernels.mlp``) compute the same loss, ``code = None`` meaning it trains layer by layer.

    Attributes
    ----------
    link : {'identity', 'softmax', 'logistic', 'exp'}
        The output link ``output`` applies (a class attribute).
    code : int or None
        The loss's code in ``fastnn.kernels.mlp``; None for a loss without a fused kernel.
    param : float
        The float parameter of that kernel (``HuberLoss``'s ``delta``; 0.0 for the others).

    See Also
    --------
    SoftmaxCrossEntropy, SigmoidCrossEntropy, SquaredError, PoissonLoss, AbsoluteError, HuberLoss : The losses.

    Examples
    --------
    >>> from fastnn.losses import Loss, SoftmaxCrossEntropy
    >>> loss = SoftmaxCrossEntropy()
    >>> isinstance(loss, Loss), loss.link
    (True, 'softmax')
    >>> loss.output(np.array([[0.0, np.log(3.0)]]))
    array([[0.25, 0.75]])
    """

    link = "identity"
    code = None
    param = 0.0

    def __init__(self):
        self._dz = self._dz_buf = None

    def forward(self, logits, y, sample_weight=None):
        z = np.ascontiguousarray(logits)
        if z.dtype not in (np.float32, np.float64):
            z = z.astype(np.float64)
        if z.ndim != 2:
            raise ValueError(f"{type(self).__name__} expects logits of shape (N, K), got {z.shape}.")
        w = _weights(sample_weight, z)
        dz = self._buffer(z)
        loss = self._kernel(z, self._target(y, z), w, dz)
        self._dz = dz
        return float(loss)

    def backward(self):
        if self._dz is None:
            raise RuntimeError(f"{type(self).__name__}.backward needs forward(logits, y) first.")
        return self._dz

    def output(self, logits):
        """float64 predictions ``(N, K)`` from logits ``(N, K)`` through the link; rows with a NaN logit come out
        NaN."""
        return self.output_checked(logits)[0]

    def output_checked(self, logits):
        """``(output(logits), index of the first row with a NaN logit or -1)``."""
        z = np.ascontiguousarray(logits)
        if z.dtype not in (np.float32, np.float64):
            z = z.astype(np.float64)
        out = np.empty(z.shape, np.float64)
        return out, int(_output.LINKS[self.link](z, out))

    def _buffer(self, z):
        buf = self._dz_buf
        if buf is None or buf.dtype != z.dtype or buf.shape[0] < z.shape[0] or buf.shape[1] != z.shape[1]:
            buf = self._dz_buf = np.empty_like(z)
        return buf[: z.shape[0]]

    def _target(self, y, z):
        """Targets as a C-contiguous ``(N, K)`` array of the logits' dtype."""
        Y = np.ascontiguousarray(y, dtype=z.dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if Y.shape != z.shape:
            raise ValueError(f"{type(self).__name__}: targets of shape {np.shape(y)} do not match logits {z.shape}.")
        return Y

    def __repr__(self):
        return f"{type(self).__name__}()"


def _weights(sample_weight, z):
    if sample_weight is None:
        return np.empty(0, z.dtype)
    w = np.ascontiguousarray(sample_weight, dtype=z.dtype).reshape(-1)
    if w.shape[0] != z.shape[0]:
        raise ValueError(f"sample_weight has {w.shape[0]} entries for {z.shape[0]} samples.")
    return w


class SoftmaxCrossEntropy(Loss):
    """Softmax + categorical cross-entropy: ``l_i = lse(z_i) - sum_k y_ik z_ik``; ``dz = (p - y) w / sum(w)``.

    ``y`` is either integer class labels ``(N,)`` in ``[0, K)`` or a target matrix ``(N, K)`` (one-hot or
    probabilities).

    Shapes: ``logits`` ``(N, K)``; ``forward(logits, y, sample_weight=None)`` returns the weighted mean loss, a
    float, and ``backward()`` its gradient ``dz`` ``(N, K)``. No parameters.

    Examples
    --------
    >>> from fastnn.losses import SoftmaxCrossEntropy
    >>> loss = SoftmaxCrossEntropy()
    >>> round(loss.forward(np.array([[2.0, 0.0], [0.0, 2.0]]), np.array([0, 1])), 4)
    0.1269
    >>> loss.backward().round(4)
    array([[-0.0596,  0.0596],
           [ 0.0596, -0.0596]])
    """

    link = "softmax"
    code = codes.SOFTMAX  # integer labels run as SOFTMAX_LABELS

    def forward(self, logits, y, sample_weight=None):
        y = np.asarray(y)
        if y.ndim == 1 and y.dtype.kind in "iub":
            z = np.ascontiguousarray(logits)
            if z.dtype not in (np.float32, np.float64):
                z = z.astype(np.float64)
            labels = np.ascontiguousarray(y, dtype=np.intp)
            if labels.shape[0] != z.shape[0]:
                raise ValueError(f"SoftmaxCrossEntropy: {labels.shape[0]} labels for {z.shape[0]} rows of logits.")
            if labels.size and (labels.min() < 0 or labels.max() >= z.shape[1]):
                raise ValueError(f"SoftmaxCrossEntropy: labels must lie in [0, {z.shape[1]}).")
            dz = self._buffer(z)
            loss = _softmax.softmax_cross_entropy_labels(z, labels, _weights(sample_weight, z), dz)
            self._dz = dz
            return float(loss)
        return super().forward(logits, y, sample_weight)

    def _kernel(self, z, Y, w, dz):
        return _softmax.softmax_cross_entropy(z, Y, w, dz)


class SigmoidCrossEntropy(Loss):
    """Per-output sigmoid + binary cross-entropy (binary and multi-label), summed over outputs:
    ``l_ik = max(z, 0) - z y + log1p(exp(-|z|))``; ``dz = (sigmoid(z) - y) w / sum(w)``.

    Shapes: ``logits`` ``(N, K)``; ``forward(logits, y, sample_weight=None)`` returns the weighted mean loss, a
    float, and ``backward()`` its gradient ``dz`` ``(N, K)``. No parameters.

    Examples
    --------
    >>> from fastnn.losses import SigmoidCrossEntropy
    >>> loss = SigmoidCrossEntropy()
    >>> round(loss.forward(np.array([[2.0], [-2.0]]), np.array([[1.0], [0.0]])), 4)
    0.1269
    >>> loss.backward().round(4)
    array([[-0.0596],
           [ 0.0596]])
    """

    link = "logistic"
    code = codes.SIGMOID
    def _kernel(self, z, Y, w, dz):
        return _softmax.sigmoid_cross_entropy(z, Y, w, dz)


class SquaredError(Loss):
    """``l_i = 0.5 * sum_k (z_ik - y_ik)^2``; ``dz = (z - y) w / sum(w)``.

    Shapes: ``logits`` ``(N, K)``; ``forward(logits, y, sample_weight=None)`` returns the weighted mean loss, a
    float, and ``backward()`` its gradient ``dz`` ``(N, K)``. No parameters.

    Examples
    --------
    >>> from fastnn.losses import SquaredError
    >>> loss = SquaredError()
    >>> round(loss.forward(np.array([[1.0], [2.0]]), np.array([[0.0], [2.0]])), 4)
    0.25
    >>> loss.backward().round(4)
    array([[0.5],
           [0. ]])
    """

    code = codes.SQUARED
    def _kernel(self, z, Y, w, dz):
        return _losses.squared_error(z, Y, w, dz)


class PoissonLoss(Loss):
    """Poisson deviance with log link from ``z = log(mu)``: ``l = exp(z) - y z + y log(y) - y``;
    ``dz = (exp(z) - y) w / sum(w)``. ``output`` returns ``exp(z)``.

    Shapes: ``logits`` ``(N, K)``; ``forward(logits, y, sample_weight=None)`` returns the weighted mean loss, a
    float, and ``backward()`` its gradient ``dz`` ``(N, K)``. No parameters.

    Examples
    --------
    >>> from fastnn.losses import PoissonLoss
    >>> loss = PoissonLoss()
    >>> round(loss.forward(np.array([[0.0], [1.0]]), np.array([[1.0], [2.0]])), 4)
    0.0523
    >>> loss.backward().round(4)
    array([[0.    ],
           [0.3591]])
    """

    link = "exp"
    code = codes.POISSON
    def _kernel(self, z, Y, w, dz):
        return _losses.poisson(z, Y, w, dz)


class AbsoluteError(Loss):
    """Absolute error (least absolute deviations, fits the conditional median):
    ``l_i = sum_k |z_ik - y_ik|``; ``dz = sign(z - y) w / sum(w)``.

    The loss has a kink where ``z == y``; there the subgradient 0 is used (the middle of ``[-1, 1]``, as
    ``numpy.sign``). Identity output link.

    Shapes: ``logits`` ``(N, K)``; ``forward(logits, y, sample_weight=None)`` returns the weighted mean loss, a
    float, and ``backward()`` its gradient ``dz`` ``(N, K)``. No parameters.

    Examples
    --------
    >>> from fastnn.losses import AbsoluteError
    >>> loss = AbsoluteError()
    >>> round(loss.forward(np.array([[1.0], [2.0]]), np.array([[0.0], [2.0]])), 4)
    0.5
    >>> loss.backward().round(4)
    array([[0.5],
           [0. ]])
    """

    code = codes.ABSOLUTE
    def _kernel(self, z, Y, w, dz):
        return _losses.absolute_error(z, Y, w, dz)


class HuberLoss(Loss):
    """Huber loss with threshold ``delta > 0`` on the residual ``r = z - y``: quadratic near 0, linear beyond,
    so outliers pull with a bounded force. ``l_i = sum_k h(r_ik)``, ``h(r) = 0.5 r^2`` for ``|r| <= delta``,
    ``delta (|r| - 0.5 delta)`` otherwise; ``dz = clip(r, -delta, delta) w / sum(w)``. Identity output link.

    The estimators call this threshold ``huber_delta`` (``epsilon`` is Adam's). Residuals are on the scale of
    ``y``; in float32, ``delta`` is rounded to float32 first.

    Parameters
    ----------
    delta : float, default=1.0
        Threshold between the quadratic and the linear part, ``> 0``, in the units of y.

    Examples
    --------
    >>> from fastnn.losses import HuberLoss
    >>> loss = HuberLoss(delta=1.0)
    >>> round(loss.forward(np.array([[0.5], [3.0]]), np.array([[0.0], [0.0]])), 4)
    1.3125
    >>> loss.backward().round(4)
    array([[0.25],
           [0.5 ]])
    """

    code = codes.HUBER

    def __init__(self, delta=1.0):
        super().__init__()
        if isinstance(delta, bool) or not isinstance(delta, (int, float, np.integer, np.floating)) or not (
            0 < delta < np.inf
        ):
            raise ValueError(f"HuberLoss: delta must be a positive finite number, got {delta!r}.")
        self.delta = float(delta)

    @property
    def param(self):
        return self.delta

    def _kernel(self, z, Y, w, dz):
        return _losses.huber(z, Y, w, self.delta, dz)

    def __repr__(self):
        return f"HuberLoss(delta={self.delta})"


LOSSES = {
    "log_loss": SoftmaxCrossEntropy,
    "binary_log_loss": SigmoidCrossEntropy,
    "squared_error": SquaredError,
    "poisson": PoissonLoss,
    "absolute_error": AbsoluteError,
    "huber": HuberLoss,
}
