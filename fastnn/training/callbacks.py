"""scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9) on fastnn's epoch events.

A fit (``partial_fit``) is the root task, named 'fit' ('partial_fit'); each epoch is one subtask named 'epoch', each
L-BFGS iteration one named 'lbfgs-iter'. ``SklearnCallbacks`` is the epoch listener (see ``fastnn.training.events``) that
turns the solver loops' events into the ``on_fit_task_begin`` / ``on_fit_task_end`` hooks. Every hook receives
``X``, ``y`` and ``metadata`` (``{'sample_weight': ...}`` or None) as passed to ``fit``, and epoch hooks the
reconstruction attributes of the model as it stands: a callback asking for ``fitted_estimator`` gets a copy of the
estimator whose parameters are a copy of the network's at that moment, built only when some callback asks (a
callable that ``CallbackContext`` evaluates on demand). The root task's end hook gets the fitted estimator itself
(copied). An epoch hook returning True stops the fit after that epoch.

With an older scikit-learn, ``sklearn_callback_module()`` is None, ``set_callbacks`` is absent (``hasattr`` is
False) and calling it raises an ``AttributeError`` naming the version needed; nothing else changes.
"""
import copy
import importlib.util

import numpy as np

from .events import ATTACHED

#: The first scikit-learn with ``sklearn.callback``.
MIN_SKLEARN = "1.9"

#: Attributes the callback machinery sets on an estimator: left alone by the fit's snapshot/restore.
CALLBACK_ATTRS = (
    "_skl_callbacks", "_parent_callback_ctx", "_callback_fit_ctx", "_skl_callbacks_to_teardown", ATTACHED,
)
#: Those never pickled: the per-fit contexts (nor carried into ``fitted_estimator`` copies) and attached listeners.
TRANSIENT_ATTRS = ("_callback_fit_ctx", "_skl_callbacks_to_teardown", ATTACHED)

#: Fitted lists copied into a ``fitted_estimator`` (the live ones keep growing).
_CURVES = ("loss_curve_", "learning_rate_curve_", "validation_scores_", "validation_loss_curve_")


def sklearn_callback_module():
    """``sklearn.callback``, or None when the installed scikit-learn predates it."""
    try:
        spec = importlib.util.find_spec("sklearn.callback")
    except ImportError:
        spec = None
    if spec is None:
        return None
    import sklearn.callback

    return sklearn.callback


class SetCallbacks:
    """The ``set_callbacks`` attribute: scikit-learn's ``CallbackSupportMixin.set_callbacks`` when
    ``sklearn.callback`` exists, else an ``AttributeError`` (so ``hasattr`` is False, as meta-estimators test)
    whose message names the scikit-learn version needed."""

    def __get__(self, obj, owner=None):
        module = sklearn_callback_module()
        if module is None:
            import sklearn

            raise AttributeError(
                f"{owner.__name__}.set_callbacks needs scikit-learn >= {MIN_SKLEARN} (sklearn.callback); scikit-learn "
                f"{sklearn.__version__} is installed: pip install -U 'scikit-learn>={MIN_SKLEARN}'."
            )
        return module.CallbackSupportMixin.set_callbacks.__get__(obj, owner)


class NoCallbackSupport:
    """The stand-in for ``CallbackSupportMixin`` with an older scikit-learn. A class of its own, not ``object``:
    ``class B(object, BaseEstimator)`` has no consistent method resolution order."""


def callback_mixin():
    """The base class giving ``set_callbacks`` / ``_init_callback_context``: scikit-learn's
    ``CallbackSupportMixin``, or ``NoCallbackSupport`` with an older scikit-learn."""
    module = sklearn_callback_module()
    return NoCallbackSupport if module is None else module.CallbackSupportMixin


def reconstruction_attributes(est, flat):
    """What makes a (shallow) copy of ``est`` predict as a network with parameter vector ``flat``: ``coefs_`` and
    ``intercepts_`` as views into a copy of ``flat``, copies of the fitted curves and of the optimizer (so the copy
    can go on with ``partial_fit`` without touching the live fit). The copy rebuilds its own network from ``coefs_``
    on first use.

    ``flat`` is laid out as the network's ``flat_params``: each layer's parameter arrays in stack order, and the
    estimator's ``coefs_[i]``, ``intercepts_[i]`` are the two arrays of the i-th layer with parameters, so the vector
    splits into them in the order ``coefs_[0], intercepts_[0], coefs_[1], ...``."""
    params = np.array(flat, dtype=est.coefs_[0].dtype)
    coefs, intercepts, offset = [], [], 0
    for c, b in zip(est.coefs_, est.intercepts_):
        for arrays, a in ((coefs, c), (intercepts, b)):
            arrays.append(params[offset : offset + a.size].reshape(a.shape))
            offset += a.size
    if offset != params.size:
        raise ValueError(f"a parameter vector of {params.size} values does not hold coefs_ and intercepts_ ({offset}).")
    attrs = {"coefs_": coefs, "intercepts_": intercepts}
    for name in _CURVES:
        value = getattr(est, name, None)
        if isinstance(value, list):
            attrs[name] = list(value)
    if getattr(est, "_optimizer", None) is not None:
        attrs["_optimizer"] = copy.deepcopy(est._optimizer)
    if isinstance(getattr(est, "_best_params", None), np.ndarray):
        attrs["_best_params"] = est._best_params.copy()
    return attrs


class SklearnCallbacks:
    """Epoch listener calling the estimator's ``sklearn.callback`` callbacks. Creating it opens the root task
    (``max_subtasks`` epochs at most) and calls its begin hooks; ``fit_end`` calls the root's end hooks."""

    def __init__(self, est, X, y, sample_weight, max_subtasks, task_name="fit", subtask_name="epoch"):
        self._root = est._init_callback_context(task_name=task_name, max_subtasks=max_subtasks)
        self._subtask_name = subtask_name
        self._data = {"X": X, "y": y, "metadata": None if sample_weight is None else {"sample_weight": sample_weight}}
        self._epoch = None
        self._root.call_on_fit_task_begin(estimator=est, **self._data)

    def epoch_begin(self, est, flat):
        self._epoch = self._root.subcontext(task_name=self._subtask_name)
        self._epoch.call_on_fit_task_begin(
            estimator=est, **self._data, reconstruction_attributes=lambda: reconstruction_attributes(est, flat)
        )

    def epoch_end(self, est, flat):
        ctx, self._epoch = self._epoch, None
        return ctx.call_on_fit_task_end(
            estimator=est, **self._data, reconstruction_attributes=lambda: reconstruction_attributes(est, flat)
        )

    def fit_end(self, est):
        self._root.call_on_fit_task_end(estimator=est, **self._data, reconstruction_attributes={})

    def close(self):
        """Teardown is ``_fit_context``'s (``callback_management_context``); nothing to release here."""
