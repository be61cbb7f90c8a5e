"""The solvers an estimator's ``solver`` parameter names, and the optimizer and learning-rate schedule each one
trains with.

``OPTIMIZER_BUILDERS`` is the registry: mini-batch solver name -> ``build(params, lr) -> Optimizer``, where
``params`` is the estimator (any object with its hyperparameters as attributes) and ``lr`` the starting rate.
``'lbfgs'`` has no optimizer: SciPy's L-BFGS-B moves the parameters itself (``fastnn.training.solvers``).
A new mini-batch solver is one builder here plus its ``code`` in ``fastnn.optimizers``.
"""
from ..optimizers import SGD, Adagrad, Adam, AdamW, EpochSchedule, RMSProp


def _sgd(params, lr):
    """SGD with scikit-learn's momentum; Nesterov's only when asked for and there is momentum to look ahead with."""
    nesterov = bool(params.nesterovs_momentum and params.momentum > 0)
    return SGD(lr, momentum=params.momentum, nesterov=nesterov)


def _adam(params, lr):
    return Adam(lr, params.beta_1, params.beta_2, params.epsilon)


def _adagrad(params, lr):
    return Adagrad(lr, eps=params.epsilon)


def _rmsprop(params, lr):
    return RMSProp(lr, rho=0.9, eps=params.epsilon)


def _adamw(params, lr):
    return AdamW(lr, params.beta_1, params.beta_2, params.epsilon, params.weight_decay)


#: Mini-batch solver name -> the function building its optimizer from the estimator's hyperparameters.
OPTIMIZER_BUILDERS = {"sgd": _sgd, "adam": _adam, "adagrad": _adagrad, "rmsprop": _rmsprop, "adamw": _adamw}

#: Solvers stepping over mini-batches (``partial_fit`` is available for these).
STOCHASTIC_SOLVERS = tuple(OPTIMIZER_BUILDERS)
SOLVERS = ("lbfgs",) + STOCHASTIC_SOLVERS


def make_optimizer(params, lr):
    """The optimizer of ``params.solver`` at learning rate ``lr``."""
    build = OPTIMIZER_BUILDERS.get(params.solver)
    if build is None:
        raise ValueError(f"solver {params.solver!r} has no mini-batch optimizer; use one of {list(STOCHASTIC_SOLVERS)}.")
    return build(params, lr)


def epoch_schedule(params):
    """The ``learning_rate`` schedule; as in scikit-learn, 'invscaling' and 'adaptive' apply to sgd only."""
    kind = params.learning_rate
    if kind in ("invscaling", "adaptive") and params.solver != "sgd":
        kind = "constant"
    return EpochSchedule(kind, params.learning_rate_init, params.power_t, params.max_iter)
