"""What an estimator keeps across processes and across a failed fit.

Pickles (``Persistent``) hold hyperparameters, fitted arrays, the optimizer's state (step count, learning rate,
moment buffers) and the dropout generators' states: everything ``partial_fit`` needs to continue exactly, and no
code objects; the network is rebuilt from ``coefs_`` on first use (``fastnn.estimators.fitted_network``). A pickle
from another fastnn version loads with an ``InconsistentVersionWarning``.

A fit runs inside ``rollback_on_failure``: a snapshot of every fitted and private attribute is taken first and put
back if the fit raises, so a failed ``fit``/``partial_fit`` leaves the estimator exactly as it was. The callback
attributes of scikit-learn's ``set_callbacks`` are the user's settings, not the fit's: never copied nor undone.
"""
import contextlib
import copy
import warnings

import numpy as np

from .. import _version
from ..exceptions import InconsistentVersionWarning
from ..training.callbacks import CALLBACK_ATTRS, TRANSIENT_ATTRS
from ..training.fit import failure_message
from ..training.solver_registry import make_optimizer
from ..training.solvers import NonFiniteError
from .fitted_network import dropout_rng_state


class Persistent:
    """Mixin giving an estimator its array-only pickles (see the module docstring)."""

    def __getstate__(self):
        state = dict(super().__getstate__())
        net = state.pop("_net", None)
        if net is not None:
            rng_state = dropout_rng_state(net)
            if rng_state:
                state["_dropout_rng_state"] = rng_state
        opt = state.pop("_optimizer", None)
        if opt is not None:
            state["_optimizer_state"] = opt.state_dict()
        for key in TRANSIENT_ATTRS:
            state.pop(key, None)
        state["_fastnn_version"] = _version.__version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop("_fastnn_version", "unknown")
        if version != _version.__version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_fastnn_version=_version.__version__,
                    original_fastnn_version=version,
                ),
                stacklevel=2,
            )
        opt_state = state.pop("_optimizer_state", None)
        # Arrays updated in place later must be writable (joblib.load(mmap_mode='r') gives read-only memmaps).
        for key in ("_best_params", "_best_state"):
            if isinstance(state.get(key), np.ndarray) and not state[key].flags.writeable:
                state[key] = np.array(state[key])
        super().__setstate__(state)
        if opt_state is not None:
            self._optimizer = make_optimizer(self, opt_state["lr"])
            self._optimizer.load_state_dict(opt_state)


def snapshot(est):
    """Deep copy of every fitted / private attribute of ``est`` (the network itself is rebuilt from ``coefs_``, its
    dropout generators from the state saved here)."""
    params = set(est.get_params(deep=False)).union(CALLBACK_ATTRS)
    saved = {k: copy.deepcopy(v) for k, v in vars(est).items() if k not in params and k != "_net"}
    net = getattr(est, "_net", None)
    if net is not None and dropout_rng_state(net):
        saved["_dropout_rng_state"] = dropout_rng_state(net)
    return saved


def restore(est, saved):
    """Put back exactly the attributes of ``snapshot``: those set since are deleted."""
    params = set(est.get_params(deep=False)).union(CALLBACK_ATTRS)
    for key in [k for k in vars(est) if k not in params]:
        delattr(est, key)
    for key, value in saved.items():
        setattr(est, key, value)


@contextlib.contextmanager
def rollback_on_failure(est, incremental):
    """Run a fit; on any exception restore ``est`` as it was. A loss or weights that stopped being finite become
    a ``ValueError`` saying so, with the remedy."""
    saved = snapshot(est)
    try:
        yield
    except NonFiniteError as exc:
        restore(est, saved)
        raise ValueError(failure_message(est, exc, incremental)) from None
    except BaseException:
        restore(est, saved)
        raise
