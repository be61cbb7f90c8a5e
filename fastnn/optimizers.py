"""Optimizers (``step(params, grads)``, in place) and learning-rate schedules.

State lives in lists parallel to ``params``, created on the first step; each array's update is one kernel
call (``fastnn.kernels.optim``), and ``Sequential`` hands over its single flat parameter vector, so a step is
one call in all. The exact rules are in ``fastnn.kernels.optim``'s docstring.

``lr`` is a number or a schedule: any callable ``schedule(t) -> lr`` of the 0-based step count ``t``
(``ConstantLR``, ``InverseScalingLR``, ``StepLR``, ``CosineLR`` below).
"""
import math

import numpy as np

from .kernels import optim as _optim


class ConstantLR:
    """``lr(t) = lr0``."""

    def __init__(self, lr0):
        self.lr0 = lr0

    def __call__(self, t):
        return self.lr0


class InverseScalingLR:
    """``lr(t) = lr0 / (t + 1) ** power_t`` (scikit-learn's ``invscaling``, there with t = samples seen)."""

    def __init__(self, lr0, power_t=0.5):
        self.lr0, self.power_t = lr0, power_t

    def __call__(self, t):
        return self.lr0 / (t + 1) ** self.power_t


class StepLR:
    """``lr(t) = lr0 * gamma ** (t // step_size)``."""

    def __init__(self, lr0, step_size, gamma=0.1):
        self.lr0, self.step_size, self.gamma = lr0, step_size, gamma

    def __call__(self, t):
        return self.lr0 * self.gamma ** (t // self.step_size)


class CosineLR:
    """``lr(t) = lr_min + (lr0 - lr_min) (1 + cos(pi min(t, T) / T)) / 2`` over ``T = t_max`` steps."""

    def __init__(self, lr0, t_max, lr_min=0.0):
        self.lr0, self.t_max, self.lr_min = lr0, t_max, lr_min

    def __call__(self, t):
        frac = min(t, self.t_max) / self.t_max
        return self.lr_min + (self.lr0 - self.lr_min) * 0.5 * (1.0 + math.cos(math.pi * frac))


class Optimizer:
    n_state = 0

    def __init__(self, lr):
        if not callable(lr) and not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"{type(self).__name__}: lr must be a positive number or a schedule, got {lr!r}.")
        self.lr = lr
        self.t = 0
        self.state = None

    def learning_rate(self):
        """The learning rate the next step will use."""
        return self.lr(self.t) if callable(self.lr) else self.lr

    def step(self, params, grads):
        if self.state is None:
            self.state = [[np.zeros_like(p) for _ in range(self.n_state)] for p in params]
        lr = float(self.learning_rate())
        self.t += 1
        for p, g, s in zip(params, grads, self.state):
            self._update(p, g, s, lr)

    def reset(self):
        self.t, self.state = 0, None

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.lr!r})"


class SGD(Optimizer):
    """SGD with optional momentum (PyTorch's ``dampening``; zero-initialised buffer) and Nesterov."""

    def __init__(self, lr, momentum=0.0, nesterov=False, dampening=0.0):
        super().__init__(lr)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1], got {momentum!r}.")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0.")
        self.momentum, self.nesterov, self.dampening = float(momentum), bool(nesterov), float(dampening)
        self.n_state = 1 if momentum else 0

    def _update(self, p, g, s, lr):
        buf = s[0] if s else p[:0]
        _optim.sgd(p, g, buf, lr, self.momentum, self.dampening, self.nesterov)


class Adagrad(Optimizer):
    n_state = 1

    def __init__(self, lr, eps=1e-8):
        super().__init__(lr)
        self.eps = float(eps)

    def _update(self, p, g, s, lr):
        _optim.adagrad(p, g, s[0], lr, self.eps)


class RMSProp(Optimizer):
    n_state = 1

    def __init__(self, lr, rho=0.9, eps=1e-8):
        super().__init__(lr)
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"RMSProp: rho must be in [0, 1), got {rho!r}.")
        self.rho, self.eps = float(rho), float(eps)

    def _update(self, p, g, s, lr):
        _optim.rmsprop(p, g, s[0], lr, self.rho, self.eps)


class Adam(Optimizer):
    n_state = 2
    weight_decay = 0.0

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{type(self).__name__}: {name} must be in [0, 1), got {beta!r}.")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def _update(self, p, g, s, lr):
        _optim.adam(p, g, s[0], s[1], self.t, lr, self.beta1, self.beta2, self.eps, self.weight_decay)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p -= lr * weight_decay * p`` before the Adam step."""

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
        super().__init__(lr, beta1, beta2, eps)
        if weight_decay < 0:
            raise ValueError(f"AdamW: weight_decay must be >= 0, got {weight_decay!r}.")
        self.weight_decay = float(weight_decay)


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSProp, "adam": Adam, "adamw": AdamW}
