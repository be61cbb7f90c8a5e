"""``BatchNorm``: batch normalisation over features ``(N, F)`` or image channels ``(N, C, H, W)``."""
import numpy as np

from ..kernels import batchnorm as _bn
from .base import Layer


class BatchNorm(Layer):
    """Batch normalisation (Ioffe & Szegedy, 2015) with a learnable scale ``gamma`` and shift ``beta``.

    Input ``(N, F)``: each feature is normalised over the batch; input ``(N, C, H, W)``: each channel over
    ``N, H, W``. With ``M`` the number of values per channel (``N`` or ``N * H * W``):

    - training: ``y = gamma * (x - mean) / sqrt(var + eps) + beta`` with the batch ``mean`` and the biased batch
      variance ``var = sum (x - mean)^2 / M``; the running statistics are updated as in PyTorch,
      ``running_mean = (1 - momentum) running_mean + momentum mean`` and
      ``running_var = (1 - momentum) running_var + momentum var * M / (M - 1)`` (the *unbiased* batch variance).
      One value per channel (``M == 1``, e.g. a batch of one row) has no variance: ValueError.
    - inference (``training=False``): the same formula with ``running_mean`` and ``running_var``. Each row is
      normalised on its own, so a row predicted alone gets exactly (bitwise) the output it gets inside a batch.

    ``params = [gamma, beta]`` (``(C,)``, initialised to 1 and 0; not L2-penalised: ``penalized = [False, False]``),
    ``grads = [dgamma, dbeta]``; ``state = [running_mean, running_var]`` (initialised to 0 and 1), non-trainable,
    updated in place by every ``forward(x, training=True)``. The batch statistics of the last training forward are
    kept in ``batch_mean`` and ``batch_var``.

    Parameters
    ----------
    momentum : float, default=0.1
        Weight of the current batch in the running mean and variance.
    eps : float, default=1e-5
        Added to the variance before its square root.

    Examples
    --------
    >>> from fastnn.layers import BatchNorm
    >>> layer = BatchNorm()
    >>> layer.build((3,), np.float64, np.random.default_rng(0))
    (3,)
    >>> layer.forward(np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]), training=True).round(4)
    array([[-1.,  0.,  1.],
           [ 1.,  0., -1.]])
    """

    def __init__(self, momentum=0.1, eps=1e-5):
        super().__init__()
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.floating, np.integer)) or not (
            0.0 <= momentum <= 1.0
        ):
            raise ValueError(f"BatchNorm: momentum must be a number in [0, 1], got {momentum!r}.")
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating, np.integer)) or not eps > 0:
            raise ValueError(f"BatchNorm: eps must be a positive number, got {eps!r}.")
        self.momentum, self.eps = float(momentum), float(eps)

    def _build(self, input_shape, rng):
        if len(input_shape) not in (1, 3):
            raise ValueError(
                f"BatchNorm expects features (N, F) or images (N, C, H, W), got per-sample shape {input_shape}."
            )
        C = input_shape[0]
        self._view = (C, int(np.prod(input_shape[1:], dtype=np.int64)))
        gamma, beta = np.ones(C, self.dtype), np.zeros(C, self.dtype)
        self.params, self.grads, self.penalized = [gamma, beta], [np.zeros_like(gamma), np.zeros_like(beta)], [
            False, False,
        ]
        self.state = [np.zeros(C, self.dtype), np.ones(C, self.dtype)]
        self.batch_mean, self.batch_var, self._inv_std = (np.zeros(C, self.dtype) for _ in range(3))
        self._bound()
        return input_shape

    def _bound(self):
        self.gamma, self.beta = self.params
        self.dgamma, self.dbeta = self.grads
        self.running_mean, self.running_var = self.state

    def _forward(self, x, training):
        N = x.shape[0]
        out = self._out("out", N, self.input_shape, training)
        x3, out3 = x.reshape(N, *self._view), out.reshape(N, *self._view)
        if not training:
            _bn.batchnorm_forward_infer(x3, self.gamma, self.beta, self.running_mean, self.running_var, self.eps, out3)
            return out
        if N * self._view[1] == 1:
            raise ValueError(
                "BatchNorm cannot normalise a training batch with one value per channel (a batch of 1 sample of "
                f"shape {self.input_shape}): its variance is undefined. Train with batches of at least 2 samples."
            )
        xhat = self._out("xhat", N, self.input_shape, True)
        _bn.batchnorm_forward_train(
            x3, self.gamma, self.beta, self.eps, self.momentum, self.running_mean, self.running_var,
            self.batch_mean, self.batch_var, self._inv_std, xhat.reshape(N, *self._view), out3,
        )
        self._xhat = xhat
        return out

    def backward(self, dout, l2=0.0):
        xhat = self._cached("_xhat")
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        N = dout.shape[0]
        if self.input_grad:
            dx = self._out("dx", N, self.input_shape, True)
            dx3 = dx.reshape(N, *self._view)
        else:
            dx, dx3 = None, np.empty((0, 0, 0), self.dtype)
        _bn.batchnorm_backward(
            dout.reshape(N, *self._view), xhat.reshape(N, *self._view), self.gamma, self._inv_std,
            self.dgamma, self.dbeta, dx3,
        )
        return dx

    def __repr__(self):
        return f"BatchNorm(momentum={self.momentum}, eps={self.eps})"
