"""One fit, once the estimator has validated its data and built its network: which loop runs, who listens to its
epochs, and the fitted record (curves, best weights, optimizer) a first fit starts from.

``run`` picks the solver loop (``fastnn.training.solvers``: L-BFGS, or mini-batch epochs), wraps it in the fit's epoch
listeners (``fit_events``: the tqdm bar, scikit-learn's callbacks) and checks that the parameters it leaves are
finite. The estimator stays the record of the fit: the loops write its fitted attributes.
"""
import numpy as np

from . import solvers
from .callbacks import SklearnCallbacks
from .events import ATTACHED, EpochEvents
from .solver_registry import STOCHASTIC_SOLVERS

#: Fitted attributes that only some solvers or settings have; a first fit removes the previous fit's.
_RECORD = ("loss_curve_", "learning_rate_curve_", "validation_scores_", "best_validation_score_", "best_loss_",
           "validation_loss_curve_")


def start_record(est, net):
    """Reset what the solver loops accumulate across ``partial_fit`` calls, for a first fit on ``net``."""
    est._best_params = net.copy_params()
    est._best_state = net.flat_state.copy()
    est._optimizer = None
    for attr in _RECORD:
        if hasattr(est, attr):
            delattr(est, attr)
    if est.solver in STOCHASTIC_SOLVERS:
        est.loss_curve_ = []
        est.learning_rate_curve_ = []
        est._no_improvement_count = 0
        if est.early_stopping:
            est.validation_scores_ = []
            est.validation_loss_curve_ = []
            est.best_validation_score_ = -np.inf
            est.best_loss_ = None
        else:
            est.best_loss_ = np.inf
            est.validation_scores_ = None
            est.best_validation_score_ = None


def run(est, net, data, given, rs, incremental, validation):
    """Train ``net`` on ``data = (X, Y, sample_weight, stratify)`` with ``est.solver``. ``given`` is
    ``(X, y, sample_weight)`` as passed to ``fit``, for the callbacks; ``validation`` a ``ValidationSet`` or None."""
    X, Y, sample_weight, stratify = data
    events = fit_events(est, *given, incremental)
    try:
        if est.solver == "lbfgs":
            solvers.fit_lbfgs(est, net, X, Y, sample_weight, events)
        else:
            solvers.fit_stochastic(est, net, X, Y, sample_weight, stratify, rs, incremental, events, validation)
        if not np.isfinite(net.flat_params).all():
            raise solvers.NonFiniteError("the solver produced non-finite parameter weights")
        events.fit_end(est)
    finally:
        events.close()


def fit_events(est, X, y, sample_weight, incremental):
    """The fit's epoch listeners: the progress bar (mini-batch solvers) and scikit-learn's callbacks, which
    receive ``X``, ``y`` and ``sample_weight`` as given to ``fit``. Empty, hence free, without either."""
    events = EpochEvents()
    stochastic = est.solver != "lbfgs"
    try:
        if est.progress_bar and stochastic:
            from .progress import EpochBar

            events.listeners.append(EpochBar(1 if incremental else est.max_iter, type(est).__name__))
        if getattr(est, "_skl_callbacks", None):  # set by scikit-learn's set_callbacks, absent until then
            # L-BFGS may end one extra, unfinished iteration (see solvers._LbfgsIterations).
            subtasks = 1 if incremental else est.max_iter + (0 if stochastic else 1)
            task = "partial_fit" if incremental else "fit"
            subtask = "epoch" if stochastic else "lbfgs-iter"
            events.listeners.append(SklearnCallbacks(est, X, y, sample_weight, subtasks, task, subtask))
        events.listeners.extend(est.__dict__.get(ATTACHED, ()))  # Checkpoint.attach: any scikit-learn
    except BaseException:
        events.close()
        raise
    return events


def failure_message(est, exc, incremental):
    """The ``ValueError`` text for a fit whose loss or weights stopped being finite (``exc``), with the remedy."""
    action = "partial_fit" if incremental else "fit"
    if est.solver == "lbfgs":
        remedy = "the input data may contain large values: scale the inputs (e.g. StandardScaler) or increase alpha"
    else:
        remedy = (
            "the input data may contain large values or the step size is too large: scale the inputs (e.g. "
            "StandardScaler) or lower learning_rate_init"
        )
    return (
        f"{type(est).__name__}.{action} stopped: {exc}; {remedy}. The estimator was left exactly as it was before this "
        "call."
    )
