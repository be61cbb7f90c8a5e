"""Ctrl-C during a fit, the scikit-learn way: training stops, a warning says so, and the model keeps what it learned.

A ``KeyboardInterrupt`` can land anywhere in an epoch: between two mini-batch steps, between an optimizer's update and
its step count, or between the epoch and its bookkeeping (curves, best weights). So the loops go back to the last
point where everything agreed, the start of the interrupted epoch (the last completed L-BFGS iterate): parameters,
layer state (BatchNorm's running statistics), optimizer state, dropout generators and the fitted record
(``n_iter_ == len(loss_curve_)``). Early stopping then restores its best epoch as after any stop, and ``partial_fit``
continues from there. At most the interrupted epoch is lost.

A second Ctrl-C while this runs, or any other exception, propagates, and the estimator's failure-safe fit
(``fastnn.estimators.persistence.rollback_on_failure``) puts back the model from before the call.
"""
import warnings

import numpy as np

from ..layers import Dropout

MESSAGE = "Training interrupted by user."


def warn_interrupted():
    warnings.warn(MESSAGE, UserWarning, stacklevel=4)


class EpochStart:
    """What a mini-batch fit looked like when its current epoch began: ``save()`` at each epoch's start (a few copies
    of the parameter vector, into buffers allocated once), ``restore()`` after an interruption."""

    _SCALARS = ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_", "_no_improvement_count")
    _LISTS = ("loss_curve_", "learning_rate_curve_", "validation_scores_", "validation_loss_curve_")
    _ARRAYS = ("_best_params", "_best_state")

    def __init__(self, est, net, optimizer):
        self.est, self.net, self.optimizer = est, net, optimizer
        self.params = np.empty_like(net.flat_params)
        self.state = np.empty_like(net.flat_state)
        self.arrays = {k: np.empty_like(a) for k in self._ARRAYS if isinstance(a := getattr(est, k, None), np.ndarray)}
        self.dropouts = [layer for layer in net.layers if isinstance(layer, Dropout) and layer.rng_state is not None]

    def save(self):
        est, net = self.est, self.net
        self.scalars = {k: getattr(est, k) for k in self._SCALARS if hasattr(est, k)}
        self.lengths = {k: len(v) for k in self._LISTS if isinstance(v := getattr(est, k, None), list)}
        np.copyto(self.params, net.flat_params)
        np.copyto(self.state, net.flat_state)
        for key, buffer in self.arrays.items():
            np.copyto(buffer, getattr(est, key))
        opt = self.optimizer
        self.opt = (opt.t, opt.lr, None if opt.state is None else [[b.copy() for b in per] for per in opt.state])
        self.rng = [layer.rng_state for layer in self.dropouts]

    def restore(self):
        est, net = self.est, self.net
        for key, value in self.scalars.items():
            setattr(est, key, value)
        for key, length in self.lengths.items():
            del getattr(est, key)[length:]
        net.flat_params[...] = self.params
        net.flat_state[...] = self.state
        for key, buffer in self.arrays.items():
            getattr(est, key)[...] = buffer
        opt = self.optimizer
        t, lr, buffers = self.opt
        if buffers is None or opt.state is None:
            opt.state = buffers
        else:  # in place: the buffers may be referenced by a fused plan
            for per, saved in zip(opt.state, buffers):
                for b, v in zip(per, saved):
                    b[...] = v
        opt.t, opt.lr = t, lr  # not set_lr: SGD's would rescale the momentum just restored
        for layer, state in zip(self.dropouts, self.rng):
            layer.rng_state = state
