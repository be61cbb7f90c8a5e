"""In-place optimizer updates over 1-D parameter / gradient / state arrays (one call per flat vector).

Conventions (g is the gradient, every state buffer starts at zero, t counts steps from 1):

- ``sgd``: ``buf = momentum * buf + (1 - dampening) * g``; the step direction is ``g + momentum * buf``
  with Nesterov, else ``buf`` (or ``g`` when momentum is 0); ``p -= lr * direction``. This is PyTorch's rule
  with a zero-initialised buffer, so ``dampening = momentum`` gives the exact EMA ``m = b m + (1 - b) g``.
- ``adagrad``: ``G += g^2``; ``p -= lr g / (sqrt(G) + eps)``.
- ``rmsprop``: ``E = rho E + (1 - rho) g^2``; ``p -= lr g / (sqrt(E) + eps)``.
- ``adam``: ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
  ``p -= lr_t m / (sqrt(v) + eps)`` with ``lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)`` (bias correction folded into
  the step size, as in Kingma & Ba's Algorithm 1 and scikit-learn). ``weight_decay > 0`` first applies
  AdamW's decoupled decay ``p -= lr * weight_decay * p`` (Loshchilov & Hutter).
"""
import numpy as np

from ._jit import jit
from .codes import (  # noqa: F401  (re-exported: the rule codes and the positions of ``hyper``)
    ADAGRAD, ADAM, BETA1, BETA2, DAMPENING, EPS, LR, MOMENTUM, N_HYPER, NESTEROV, RHO, RMSPROP, SGD, WEIGHT_DECAY,
)


@jit
def sgd(p, g, buf, lr, momentum, dampening, nesterov):
    """SGD with optional (Nesterov) momentum; ``buf`` may be empty when ``momentum == 0``."""
    a = p.dtype.type(lr)
    if momentum == 0.0:
        for i in range(p.shape[0]):
            p[i] -= a * g[i]
        return
    mu = p.dtype.type(momentum)
    keep = p.dtype.type(1.0 - dampening)
    for i in range(p.shape[0]):
        b = mu * buf[i] + keep * g[i]
        buf[i] = b
        if nesterov:
            p[i] -= a * (g[i] + mu * b)
        else:
            p[i] -= a * b


@jit
def adagrad(p, g, G, lr, eps):
    a = p.dtype.type(lr)
    e = p.dtype.type(eps)
    for i in range(p.shape[0]):
        G[i] += g[i] * g[i]
        p[i] -= a * g[i] / (np.sqrt(G[i]) + e)


@jit
def rmsprop(p, g, E, lr, rho, eps):
    a = p.dtype.type(lr)
    r = p.dtype.type(rho)
    r1 = p.dtype.type(1.0 - rho)
    e = p.dtype.type(eps)
    for i in range(p.shape[0]):
        E[i] = r * E[i] + r1 * g[i] * g[i]
        p[i] -= a * g[i] / (np.sqrt(E[i]) + e)


@jit
def adam(p, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    """Adam step number ``t`` (1-based); AdamW when ``weight_decay > 0``."""
    step = lr * np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
    a = p.dtype.type(step)
    b1 = p.dtype.type(beta1)
    b2 = p.dtype.type(beta2)
    c1 = p.dtype.type(1.0 - beta1)
    c2 = p.dtype.type(1.0 - beta2)
    e = p.dtype.type(eps)
    decay = p.dtype.type(1.0 - lr * weight_decay)  # exactly 1 without decay: p * 1 is p, bit for bit
    for i in range(p.shape[0]):
        gi = g[i]
        m[i] = b1 * m[i] + c1 * gi
        v[i] = b2 * v[i] + c2 * gi * gi
        p[i] = p[i] * decay - a * m[i] / (np.sqrt(v[i]) + e)
