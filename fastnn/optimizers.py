"""Optimizers (``step(params, grads)``, in place) and the estimators' learning-rate schedule.

State lives in lists parallel to ``params``, created on the first step; each array's update is one kernel
call (``fastnn.kernels.optim``), and ``Sequential`` hands over its single flat parameter vector, so a step is
one call in all. The exact rules are in ``fastnn.kernels.optim``'s docstring.

``lr`` is a positive number, constant between calls of ``set_lr``; the estimators change it between epochs through
an ``EpochSchedule`` (their ``learning_rate`` parameter).
"""
import math
import numbers

import numpy as np

from .kernels import codes
from .kernels import optim as _optim


class Optimizer:
    """Base class of the optimizers: ``step(params, grads)`` updates a list of arrays in place.

    ``step`` creates the state on its first call (``ensure_state``: ``n_state`` zero arrays per parameter array),
    counts the step (``advance``; ``t`` is the 1-based number of the last step) and applies the subclass's
    ``_update(p, g, s, lr)`` to each parameter array ``p`` with its gradient ``g`` and state list ``s``. ``code``
    and ``hyper()`` describe the rule to the fused epoch (``fastnn.kernels.mlp.epoch_kernel``); an optimizer with
    ``code = None`` has none, and networks using it train layer by layer.

    Parameters
    ----------
    lr : float
        Step size, ``> 0``; ``set_lr`` changes it between steps.

    Attributes
    ----------
    lr : float
        The current step size.
    t : int
        Number of steps taken (Adam's bias correction reads it).
    state : list of list of ndarray or None
        Per parameter array, its ``n_state`` buffers (momentum, moment estimates); None before the first step.

    See Also
    --------
    SGD, Adagrad, RMSProp, Adam, AdamW : The optimizers.
    EpochSchedule : Changes ``lr`` between the epochs of an estimator's fit.

    Examples
    --------
    A subclass needs only ``_update`` (here sign descent, without state):

    >>> from fastnn.optimizers import Optimizer
    >>> class SignDescent(Optimizer):
    ...     def _update(self, p, g, s, lr):
    ...         p -= lr * np.sign(g)
    >>> opt = SignDescent(0.1)
    >>> w = np.array([1.0, -1.0])
    >>> opt.step([w], [np.array([3.0, -0.5])])
    >>> w, opt.t
    (array([ 0.9, -0.9]), 1)
    """

    n_state = 0
    code = None

    def __init__(self, lr):
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"{type(self).__name__}: lr must be a positive number, got {lr!r}.")
        self.lr = lr
        self.t = 0
        self.state = None

    def set_lr(self, lr):
        """Change the (numeric) step size between steps."""
        self.lr = float(lr)

    def step(self, params, grads):
        self.ensure_state(params)
        lr = float(self.lr)
        self.advance(1)
        for p, g, s in zip(params, grads, self.state):
            self._update(p, g, s, lr)

    def ensure_state(self, params):
        """Create the state for ``params`` (``n_state`` zero arrays per parameter array) unless it exists; returns
        whether it was created. ``step`` calls it first; a kernel that updates ``params`` and ``state`` itself
        (the fused epoch) calls it before, then ``advance``."""
        if self.state is not None:
            return False
        self.state = [[np.zeros_like(p) for _ in range(self.n_state)] for p in params]
        return True

    def advance(self, steps):
        """Count ``steps`` more steps (``t`` is the 1-based number of the last one, as Adam's bias correction reads
        it)."""
        self.t += int(steps)

    def hyper(self):
        """float64 hyperparameters for the fused epoch (``kernels.mlp``) at the current learning rate."""
        h = np.zeros(codes.N_HYPER)
        h[codes.LR] = float(self.lr)
        self._hyper(h)
        return h

    def _hyper(self, h):
        pass

    def reset(self):
        """Forget every step: no state, ``t = 0``."""
        self.t, self.state = 0, None

    def state_dict(self):
        """What continuing exactly needs: the step count, the learning rate and the state buffers (plain data)."""
        return {"t": self.t, "lr": self.lr, "state": self.state}

    def load_state_dict(self, state):
        """Restore ``state_dict()``'s output; buffers are copied when read-only (e.g. memory-mapped by joblib),
        since steps update them in place."""
        buffers = state["state"]
        if buffers is not None:
            buffers = [[b if b.flags.writeable else np.array(b) for b in per_param] for per_param in buffers]
        self.t, self.lr, self.state = state["t"], state["lr"], buffers

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.lr!r})"


class SGD(Optimizer):
    """SGD with optional momentum (PyTorch's ``dampening``; zero-initialised buffer) and Nesterov.

    Parameters
    ----------
    lr : float
        Step size, ``> 0``.
    momentum : float, default=0.0
        Momentum coefficient.
    nesterov : bool, default=False
        Nesterov momentum.
    dampening : float, default=0.0
        Dampening of the momentum buffer (PyTorch's).

    Examples
    --------
    >>> from fastnn.optimizers import SGD
    >>> opt = SGD(0.1, momentum=0.9)
    >>> w, g = np.array([1.0, -1.0]), np.array([0.5, -0.5])
    >>> opt.step([w], [g])
    >>> w.round(4)
    array([ 0.95, -0.95])
    """

    code = codes.SGD

    def __init__(self, lr, momentum=0.0, nesterov=False, dampening=0.0):
        super().__init__(lr)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1], got {momentum!r}.")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0.")
        self.momentum, self.nesterov, self.dampening = float(momentum), bool(nesterov), float(dampening)
        self.n_state = 1 if momentum else 0

    def set_lr(self, lr):
        """Change the step size, rescaling the momentum buffer so that the update continues scikit-learn's velocity
        form ``v = momentum v - lr g`` (``v = -lr * buf``) across the change."""
        old = float(self.lr)
        if lr != old and self.state:
            for s in self.state:
                for buf in s:
                    buf *= buf.dtype.type(old / lr)
        super().set_lr(lr)

    def _update(self, p, g, s, lr):
        buf = s[0] if s else p[:0]
        _optim.sgd(p, g, buf, lr, self.momentum, self.dampening, self.nesterov)

    def _hyper(self, h):
        h[codes.MOMENTUM], h[codes.DAMPENING], h[codes.NESTEROV] = self.momentum, self.dampening, self.nesterov


class Adagrad(Optimizer):
    """Adagrad: ``s += g**2``; ``p -= lr * g / (sqrt(s) + eps)``.

    Parameters
    ----------
    lr : float
        Step size, ``> 0``.
    eps : float, default=1e-8
        Added to the root of the accumulated squared gradients.

    Examples
    --------
    >>> from fastnn.optimizers import Adagrad
    >>> opt = Adagrad(0.1)
    >>> w, g = np.array([1.0, -1.0]), np.array([0.5, -0.5])
    >>> opt.step([w], [g])
    >>> w.round(4)
    array([ 0.9, -0.9])
    """

    n_state = 1
    code = codes.ADAGRAD

    def __init__(self, lr, eps=1e-8):
        super().__init__(lr)
        self.eps = float(eps)

    def _update(self, p, g, s, lr):
        _optim.adagrad(p, g, s[0], lr, self.eps)

    def _hyper(self, h):
        h[codes.EPS] = self.eps


class RMSProp(Optimizer):
    """RMSProp: ``s = rho * s + (1 - rho) * g**2``; ``p -= lr * g / (sqrt(s) + eps)``.

    Parameters
    ----------
    lr : float
        Step size, ``> 0``.
    rho : float, default=0.9
        Decay of the running mean of squared gradients.
    eps : float, default=1e-8
        Added to the root of that mean.

    Examples
    --------
    >>> from fastnn.optimizers import RMSProp
    >>> opt = RMSProp(0.01)
    >>> w, g = np.array([1.0, -1.0]), np.array([0.5, -0.5])
    >>> opt.step([w], [g])
    >>> w.round(4)
    array([ 0.9684, -0.9684])
    """

    n_state = 1
    code = codes.RMSPROP

    def __init__(self, lr, rho=0.9, eps=1e-8):
        super().__init__(lr)
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"RMSProp: rho must be in [0, 1), got {rho!r}.")
        self.rho, self.eps = float(rho), float(eps)

    def _update(self, p, g, s, lr):
        _optim.rmsprop(p, g, s[0], lr, self.rho, self.eps)

    def _hyper(self, h):
        h[codes.RHO], h[codes.EPS] = self.rho, self.eps


class Adam(Optimizer):
    """Adam (Kingma & Ba): bias-corrected moments ``m``, ``v`` of ``g``; ``p -= lr * m_hat / (sqrt(v_hat) + eps)``.

    Parameters
    ----------
    lr : float, default=1e-3
        Step size, ``> 0``.
    beta1 : float, default=0.9
        Decay of the first-moment estimate.
    beta2 : float, default=0.999
        Decay of the second-moment estimate.
    eps : float, default=1e-8
        Added to the root of the second moment.

    Examples
    --------
    >>> from fastnn.optimizers import Adam
    >>> opt = Adam(0.1)
    >>> w, g = np.array([1.0, -1.0]), np.array([0.5, -0.5])
    >>> opt.step([w], [g])
    >>> w.round(4)
    array([ 0.9, -0.9])
    """

    n_state = 2
    code = codes.ADAM
    weight_decay = 0.0

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{type(self).__name__}: {name} must be in [0, 1), got {beta!r}.")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def _update(self, p, g, s, lr):
        _optim.adam(p, g, s[0], s[1], self.t, lr, self.beta1, self.beta2, self.eps, self.weight_decay)

    def _hyper(self, h):
        h[codes.BETA1], h[codes.BETA2], h[codes.EPS] = self.beta1, self.beta2, self.eps
        h[codes.WEIGHT_DECAY] = self.weight_decay


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p -= lr * weight_decay * p`` before the Adam step.

    Parameters
    ----------
    lr : float, default=1e-3
        Step size, ``> 0``.
    beta1 : float, default=0.9
        Decay of the first-moment estimate.
    beta2 : float, default=0.999
        Decay of the second-moment estimate.
    eps : float, default=1e-8
        Added to the root of the second moment.
    weight_decay : float, default=0.01
        Decoupled weight decay, ``>= 0``.

    Examples
    --------
    >>> from fastnn.optimizers import AdamW
    >>> opt = AdamW(0.1)
    >>> w, g = np.array([1.0, -1.0]), np.array([0.5, -0.5])
    >>> opt.step([w], [g])
    >>> w.round(4)
    array([ 0.899, -0.899])
    """

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
        super().__init__(lr, beta1, beta2, eps)
        if weight_decay < 0:
            raise ValueError(f"AdamW: weight_decay must be >= 0, got {weight_decay!r}.")
        self.weight_decay = float(weight_decay)


class EpochSchedule:
    """How an estimator changes the learning rate between epochs (its ``learning_rate`` parameter); the rate is
    constant within an epoch.

    - ``'constant'``: ``lr = lr0``.
    - ``'invscaling'``: after each epoch ``lr = lr0 / (t + 1) ** power_t``, ``t`` the samples seen so far
      (scikit-learn's rule, for sgd).
    - ``'adaptive'`` / ``'plateau'``: when ``n_iter_no_change`` epochs bring no improvement, ``lr /= 5`` and training
      goes on; it stops once ``lr <= 1e-6`` (scikit-learn's 'adaptive' for sgd; 'plateau' the same for any solver).
    - ``'cosine'``: epoch ``e`` (0-based) runs at ``lr0 * (1 + cos(pi * min(e, max_iter - 1) / max_iter)) / 2``, from
      ``lr0`` towards 0; epochs past ``max_iter`` (``partial_fit``) keep the last rate, which is never 0 (a zero
      rate would learn nothing and cannot carry SGD's momentum across).

    The solver loop calls ``epoch_ends`` after every epoch and ``no_improvement`` when ``n_iter_no_change`` epochs
    brought no improvement of more than ``tol``.

    Parameters
    ----------
    kind : {'constant', 'invscaling', 'adaptive', 'plateau', 'cosine'}
        The rule, as the estimators' ``learning_rate`` parameter names it.
    lr0 : float
        The initial rate (the estimators' ``learning_rate_init``).
    power_t : float, default=0.5
        Exponent of ``'invscaling'``.
    max_iter : int, default=200
        Length of the ``'cosine'`` schedule in epochs (the estimators' ``max_iter``).

    See Also
    --------
    Optimizer.set_lr : How the schedule changes the rate.

    Examples
    --------
    >>> from fastnn.optimizers import SGD, EpochSchedule
    >>> opt = SGD(0.1)
    >>> schedule = EpochSchedule("cosine", 0.1, max_iter=4)
    >>> rates = []
    >>> for epoch in range(1, 6):
    ...     schedule.epoch_ends(opt, samples_seen=100 * epoch, epochs_done=epoch)
    ...     rates.append(round(opt.lr, 4))
    >>> rates
    [0.0854, 0.05, 0.0146, 0.0146, 0.0146]
    >>> opt.set_lr(0.1)
    >>> EpochSchedule("plateau", 0.1).no_improvement(opt)
    (False, 'Setting learning rate to 0.020000')
    """

    def __init__(self, kind, lr0, power_t=0.5, max_iter=200):
        self.kind, self.lr0, self.power_t, self.max_iter = kind, float(lr0), float(power_t), int(max_iter)

    def epoch_ends(self, optimizer, samples_seen, epochs_done):
        """Set the rate of the next epoch on ``optimizer``, given the samples seen and the epochs done so far."""
        if self.kind == "invscaling":
            optimizer.set_lr(self.lr0 / (samples_seen + 1) ** self.power_t)
        elif self.kind == "cosine":
            epoch = min(epochs_done, self.max_iter - 1)
            optimizer.set_lr(self.lr0 * 0.5 * (1.0 + math.cos(math.pi * epoch / self.max_iter)))

    def no_improvement(self, optimizer):
        """Called when training stopped improving: lowers the rate (``'adaptive'``, ``'plateau'``) or asks to stop;
        returns ``(stop, what happened)``, the latter a sentence for verbose output."""
        if self.kind not in ("adaptive", "plateau"):
            return True, "Stopping."
        lr = float(optimizer.lr)
        if lr <= 1e-6:
            return True, "Learning rate too small. Stopping."
        optimizer.set_lr(lr / 5.0)
        return False, "Setting learning rate to %f" % optimizer.lr


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSProp, "adam": Adam, "adamw": AdamW}
