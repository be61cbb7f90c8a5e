"""The solver loops of the estimators: L-BFGS over the whole training set, and mini-batch epochs with
``n_iter_no_change``/``tol`` stopping, learning-rate schedules and early stopping on a validation set.

Objective and scaling (identical to scikit-learn's MLP): for a mini-batch ``B`` with sample weights ``w`` (ones when
absent), ``L_B = sum_{i in B} w_i l_i / sum_B w + 0.5 * alpha * sum ||W||^2 / sum_B w``; L-BFGS minimises the same
over the whole training set. The reported epoch loss is ``sum_B |B| L_B / n`` (``loss_curve_``), with the data term
scaled by the estimator's ``_reported_loss_scale()`` (scikit-learn averages squared error over outputs).

The estimator is the record of the fit: the loops read its hyperparameters and write its fitted attributes
(``n_iter_``, ``t_``, ``loss_``, ``loss_curve_``, ``learning_rate_curve_``, ``validation_scores_``, ...), exactly
the attributes scikit-learn's MLP keeps between ``partial_fit`` calls. The network does the epochs
(``Sequential.train_epoch``) and chooses how they run. Each epoch (each L-BFGS iteration) is announced to the fit's
listeners (``fastnn.training.events.EpochEvents``: the progress bar, scikit-learn's callbacks), any of which may stop the
fit after that epoch; the validation set and its score are ``fastnn.training.scoring``'s.
"""
import math
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.optimize import _check_optimize_result

from ..network.sequential import SPARSE_CHUNK
from .interrupt import EpochStart, warn_interrupted
from .scoring import ValidationSet
from .solver_registry import epoch_schedule, make_optimizer


class NonFiniteError(ArithmeticError):
    """Raised inside a solver loop when the loss or the weights stop being finite."""


def _lbfgs_print_option(verbose):
    """L-BFGS-B's ``iprint`` option, which SciPy 1.15 removed (verbose L-BFGS then prints nothing, as in
    scikit-learn)."""
    major, minor = (int(part) for part in scipy.__version__.split(".")[:2])
    return {} if (major, minor) >= (1, 15) else {"iprint": 1 if verbose else -1}


# ---------------------------------------------------------------------------------------------- L-BFGS
def fit_lbfgs(est, net, X, Y, sample_weight, events):
    n = X.shape[0]
    total_w = float(n if sample_weight is None else np.sum(sample_weight, dtype=np.float64))
    flat = net.flat_params
    chunk = SPARSE_CHUNK if sp.issparse(X) else n
    alpha = float(est.alpha)
    iterations = _LbfgsIterations(est, events, flat.astype(np.float64))

    def loss_and_grad(x):
        flat[...] = x
        grad64 = np.zeros(flat.shape, np.float64)  # fresh: scipy keeps the returned gradient
        loss = 0.0
        penalised = False
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            xb = X[start:stop]
            xb = xb.toarray() if sp.issparse(xb) else xb
            wb = None if sample_weight is None else sample_weight[start:stop]
            w_c = float(stop - start if wb is None else np.sum(wb, dtype=np.float64))
            if w_c <= 0:
                continue
            # The penalty rides on the first chunk with weight: (w_c / W) * alpha / w_c == alpha / W.
            l2 = 0.0 if penalised else alpha / w_c
            penalised = True
            part = net.loss_and_grad(xb.reshape(stop - start, *net.input_shape), Y[start:stop], wb, l2)
            frac = w_c / total_w
            loss += frac * part
            grad64 += frac * net.flat_grads
        return loss, grad64

    def objective(x):
        iterations.evaluating()
        return loss_and_grad(x)

    try:
        opt_res = scipy.optimize.minimize(
            objective,
            flat.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol,
                     **_lbfgs_print_option(est.verbose)},
            callback=iterations,
        )
    except KeyboardInterrupt:  # keep the last completed iterate (fastnn.training.interrupt)
        iterations.finish()
        est.n_iter_ = iterations.done
        fun, _ = loss_and_grad(iterations.x)
        warn_interrupted()
    else:
        iterations.finish()
        if iterations.stopped:
            est.n_iter_ = int(opt_res.nit)  # stopped by a callback: not a convergence failure
        else:
            est.n_iter_ = _check_optimize_result("lbfgs", opt_res, est.max_iter)
        fun = opt_res.fun
        flat[...] = opt_res.x
    if not np.isfinite(fun):
        raise NonFiniteError("the L-BFGS objective became non-finite")
    penalty = net.penalty(alpha / total_w)
    est.loss_ = float((fun - penalty) * est._reported_loss_scale() + penalty)


class _LbfgsIterations:
    """SciPy's per-iteration ``callback`` as epoch events. An iteration begins at its first objective evaluation
    (with the previous iterate as the model) and ends at SciPy's callback (with the new iterate); an end hook asking
    to stop raises ``StopIteration``, which SciPy (>= 1.11) honours. An iteration begun but not completed when
    SciPy returns (an abnormal line search) is ended with the last iterate, so begin and end hooks always pair."""

    def __init__(self, est, events, x0):
        self.est, self.events, self.x = est, events, x0
        self.done, self.open, self.stopped = 0, False, False

    def evaluating(self):
        if not self.open:
            self.open = True
            if self.events:
                self.events.epoch_begin(self.est, self.x)

    def __call__(self, intermediate_result):
        self.x = np.array(intermediate_result.x)
        self.open = False
        self.done += 1
        self.est.n_iter_ = self.done
        if self.events and self.events.epoch_end(self.est, self.x):
            self.stopped = True
            raise StopIteration

    def finish(self):
        if self.open:
            self.open = False
            if self.events:
                self.events.epoch_end(self.est, self.x)


# ---------------------------------------------------------------------------------------------- mini-batch epochs
def fit_stochastic(est, net, X, Y, sample_weight, stratify, rs, incremental, events, validation=None):
    """Mini-batch epochs; ``validation`` is the user's ``ValidationSet`` (else early stopping splits one off)."""
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    if not incremental or getattr(est, "_optimizer", None) is None:
        est._optimizer = make_optimizer(est, float(est.learning_rate_init))
    optimizer = net.optimizer = est._optimizer
    schedule = epoch_schedule(est)
    early_stopping = est.early_stopping
    if early_stopping and validation is None:
        train_idx, val_idx = _validation_split(est, X.shape[0], stratify, rs)
        validation = ValidationSet(
            est, X[val_idx], Y[val_idx], None if sample_weight is None else sample_weight[val_idx]
        )
        X, Y = X[train_idx], Y[train_idx]
        sample_weight = None if sample_weight is None else sample_weight[train_idx]
    n_samples = X.shape[0]
    batch_size = _batch_size(est, n_samples)
    batches = math.ceil(n_samples / batch_size)
    epochs = 1 if incremental else est.max_iter
    alpha, scale = float(est.alpha), float(est._reported_loss_scale())
    order = np.arange(n_samples)
    say = events.write if events else print
    est.n_iter_ = 0
    epoch_start = EpochStart(est, net, optimizer)
    try:
        for epoch in range(epochs):
            epoch_start.save()
            if events:
                events.epoch_begin(est, net.flat_params)
            if est.shuffle:
                # scikit-learn's ``shuffle(sample_idx, random_state=rs)``: the same draws, the same order.
                perm = np.arange(n_samples)
                rs.shuffle(perm)
                order = order[perm]
            lr = float(optimizer.lr)
            total, _, status = net.train_epoch(
                X, Y, sample_weight, order, batch_size, alpha, scale, steps_left=(epochs - epoch) * batches
            )
            _record_epoch(est, net, total, status, n_samples, lr, say)
            if early_stopping:
                _update_validation(est, net, validation, say)
            else:
                _update_training_loss(est)
            schedule.epoch_ends(optimizer, est.t_, len(est.loss_curve_))
            stop = _no_improvement_stop(est, schedule, optimizer, say)
            if events and events.epoch_end(est, net.flat_params):
                stop = True  # a callback asked: a clean stop, not a convergence failure
            if stop:
                break
            if not incremental and est.n_iter_ == est.max_iter:
                warnings.warn(
                    "Stochastic Optimizer: Maximum iterations (%d) reached and the optimization hasn't converged yet."
                    % est.max_iter,
                    ConvergenceWarning,
                )
    except KeyboardInterrupt:
        epoch_start.restore()
        warn_interrupted()
    if early_stopping:
        net.load_params(est._best_params)
        best_state = getattr(est, "_best_state", None)
        if best_state is not None and best_state.shape == net.flat_state.shape:
            net.flat_state[...] = best_state  # BatchNorm's running statistics of the best epoch


def _batch_size(est, n_samples):
    if est.batch_size == "auto":
        return min(200, n_samples)
    if est.batch_size > n_samples:
        warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
    return int(np.clip(est.batch_size, 1, n_samples))


def _record_epoch(est, net, total, status, n_samples, lr, say):
    """An epoch's bookkeeping: its loss, step count and learning rate, once its result is known to be finite."""
    if status:
        raise NonFiniteError(
            f"the training loss became non-finite (inf or NaN) at iteration {est.n_iter_ + 1}, mini-batch {status}"
        )
    est.n_iter_ += 1
    est.loss_ = total / n_samples
    # A last step that overflows the weights while its loss (computed before the update) was finite.
    if not np.isfinite(net.flat_params).all():
        raise NonFiniteError(f"the parameter weights became non-finite (inf or NaN) at iteration {est.n_iter_}")
    est.t_ += n_samples
    est.loss_curve_.append(est.loss_)
    est.learning_rate_curve_.append(lr)
    if est.verbose:
        say("Iteration %d, loss = %.8f" % (est.n_iter_, est.loss_))


def _no_improvement_stop(est, schedule, optimizer, say):
    """After ``n_iter_no_change`` epochs without improvement, the schedule stops the fit or changes the rate."""
    if est._no_improvement_count <= est.n_iter_no_change:
        return False
    what_did_not = "Validation score" if est.early_stopping else "Training loss"
    msg = "%s did not improve more than tol=%f for %d consecutive epochs." % (what_did_not, est.tol, est.n_iter_no_change)
    stop, what = schedule.no_improvement(optimizer)
    if est.verbose:
        say(f"{msg} {what}")
    if not stop:
        est._no_improvement_count = 0
    return stop


def _validation_split(est, n, stratify, rs):
    idx = np.arange(n)
    if stratify is not None:
        _, counts = np.unique(stratify, return_counts=True)
        n_val = int(np.ceil(est.validation_fraction * n))
        if counts.min() < 2 or n_val < counts.size or n - n_val < counts.size:
            stratify = None  # a class too small to appear on both sides: fall back to a plain split
    train_idx, val_idx = train_test_split(idx, random_state=rs, test_size=est.validation_fraction, stratify=stratify)
    if val_idx.shape[0] < 2:
        raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your dataset.")
    return train_idx, val_idx


def _update_validation(est, net, validation, say):
    score, vloss = validation.score(est, net)
    est.validation_loss_curve_.append(vloss)
    est.validation_scores_.append(score)
    if est.verbose:
        say("Validation score: %f" % score)
    if score < est.best_validation_score_ + est.tol:
        est._no_improvement_count += 1
    else:
        est._no_improvement_count = 0
    if score > est.best_validation_score_:
        est.best_validation_score_ = score
        est._best_params[...] = net.flat_params
        best_state = getattr(est, "_best_state", None)
        if best_state is not None and best_state.shape == net.flat_state.shape:
            best_state[...] = net.flat_state


def _update_training_loss(est):
    if est.loss_curve_[-1] > est.best_loss_ - est.tol:
        est._no_improvement_count += 1
    else:
        est._no_improvement_count = 0
    if est.loss_curve_[-1] < est.best_loss_:
        est.best_loss_ = est.loss_curve_[-1]
