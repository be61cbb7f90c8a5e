"""``BaseNeuralNetwork``: the scikit-learn face shared by fastnn's estimators, and the order of one fit.

Its jobs live in the modules of their floors; this class wires them together:

- hyperparameters: ``fastnn.estimators.params`` (the shared constraints and defaults);
- pickling and the failure-safe fit (snapshot, restore): ``fastnn.estimators.persistence``;
- the network behind ``coefs_``/``intercepts_`` (build, expose, rebuild): ``fastnn.estimators.fitted_network``;
- prediction input and its fast path: ``fastnn.estimators.inputs``;
- the fit itself (solver loop, epoch listeners, fitted record): ``fastnn.training.fit``, with the solvers'
  optimizers in ``fastnn.training.solver_registry``.

Subclasses supply the model through hooks: ``_make_layers(n_features, n_outputs)`` (the layer stack, last layer
emitting logits; ``fastnn.estimators.stack``), ``_input_shape(n_features)``, ``_init_params(net, rs)``,
``_make_loss()``, ``_describe_layer(index, n_layers)``, ``_check_architecture()``, ``_uses_dropout()``,
``_fit_rows``/``_prediction_rows`` (samples with a shape: ``fastnn.estimators.shapes``), and the classifier's /
regressor's ``_validate_fit_data``, ``_encode_targets``/``_decode_targets``, ``_output_activation``, ``_n_logits``,
``_validation_score``, ``_reported_loss_scale`` (``fastnn.estimators.classifier``, ``.regressor``).
"""
import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..losses import LOSSES
from ..training import fit as training
from ..training.callbacks import SetCallbacks, callback_mixin
from ..training.checks import check_features, check_lengths
from ..training.scoring import ValidationSet, check_validation_args
from ..training.solver_registry import STOCHASTIC_SOLVERS
from .fitted_network import build_network, expose_params, fitted_network
from .inputs import check_prediction_input
from .params import TRAINING_CONSTRAINTS
from .persistence import Persistent, rollback_on_failure

#: Output link -> loss registry key.
OUTPUT_LOSSES = {"softmax": "log_loss", "logistic": "binary_log_loss", "identity": "squared_error", "exp": "poisson"}


class BaseNeuralNetwork(Persistent, callback_mixin(), BaseEstimator):
    """Base for fastnn's estimators; see the module docstring for the hooks subclasses implement."""

    #: ``set_callbacks(*callbacks)`` with scikit-learn >= 1.9; absent (with an error naming the version) before.
    set_callbacks = SetCallbacks()

    _parameter_constraints: dict = dict(TRAINING_CONSTRAINTS)

    #: How X must look, with the fix, for the error on arrays of 3 or more dimensions (subclasses that take
    #: images override it).
    _X_shape_hint = (
        "(n_samples, n_features); flatten each sample with X.reshape(len(X), -1) (or use CNNClassifier for images)"
    )

    @classmethod
    def _get_param_names(cls):
        """scikit-learn's list (the ``__init__`` signature, via ``inspect``), computed once per class: every
        ``fit``/``partial_fit`` reads it three times (parameter validation, snapshot, restore)."""
        names = cls.__dict__.get("_param_names_cache")
        if names is None:
            names = tuple(super()._get_param_names())
            cls._param_names_cache = names
        return list(names)

    # ------------------------------------------------------------------ hooks (overridden by subclasses)
    def _make_layers(self, n_features, n_outputs):
        raise NotImplementedError

    def _input_shape(self, n_features):
        return (n_features,)

    def _init_params(self, net, rs):
        """Default: keep the initialisation the layers drew in ``build``."""

    def _make_loss(self):
        return LOSSES[OUTPUT_LOSSES[self.out_activation_]]()

    def _describe_layer(self, index, n_layers):
        return f"layer {index}"

    def _check_architecture(self):
        """Raise ``ValueError`` for architecture hyperparameters that cannot build a stack (first thing a fit does)."""

    def _uses_dropout(self):
        """Whether the stack has dropout layers (they get a seed drawn from ``random_state``)."""
        return False

    def _fit_rows(self, X, first_pass):
        """``X`` as rows for a fit (samples with a shape flatten theirs; ``first_pass`` fixes it)."""
        return X

    def _prediction_rows(self, X):
        """``X`` as rows for a prediction."""
        return X

    # ------------------------------------------------------------------ fitted network and inputs
    @property
    def _np_dtype(self):
        return np.dtype(self.dtype).type

    @property
    def network_(self):
        """The fitted ``fastnn.network.Sequential`` behind ``coefs_``/``intercepts_`` (whose arrays are views into
        it); rebuilt from them after unpickling or when they were replaced. Raises ``NotFittedError`` before a fit."""
        self._check_fitted()
        return fitted_network(self)

    def _check_fitted(self):
        if "coefs_" not in self.__dict__:  # the common, fitted case costs one dict lookup
            check_is_fitted(self, "coefs_")

    def _check_input(self, X):
        """``X`` validated for prediction, as rows in the model's dtype."""
        return check_prediction_input(self, self._prediction_rows(X))

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Fit to ``X (n_samples, n_features)`` (dense or CSR/CSC) and targets ``y`` (labels ``(n_samples,)`` or a
        multi-label indicator matrix for classifiers; ``(n_samples,)`` or ``(n_samples, n_outputs)`` for
        regressors), optionally with ``sample_weight (n_samples,)``. With ``early_stopping=True``, ``X_val``,
        ``y_val`` (and ``sample_weight_val``) are the validation set, in place of the ``validation_fraction``
        split."""
        validation = None if X_val is None and y_val is None and sample_weight_val is None else (
            X_val, y_val, sample_weight_val)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, validation=validation)

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None, validation=None):
        """``validation``: ``fit``'s ``(X_val, y_val, sample_weight_val)``, or None."""
        validation = None if validation is None else check_validation_args(self, *validation)
        with rollback_on_failure(self, incremental):
            self._fit_impl(X, y, sample_weight, incremental, classes, validation)
        return self

    def _fit_impl(self, X, y, sample_weight, incremental, classes, validation):
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X = self._fit_rows(X, first_pass)
        self._check_architecture()
        check_features(X, self)
        check_lengths(X, y)
        given = (X, y, sample_weight)  # what callbacks receive: predicting on it needs no extra conversion
        X, Y, sample_weight, stratify = self._validate_fit_data(X, y, sample_weight, incremental, first_pass, classes)
        rs = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, X.shape[1], rs)
        if validation is not None:
            validation = ValidationSet.from_user(self, *validation)
        net = fitted_network(self)
        training.run(self, net, (X, Y, sample_weight, stratify), given, rs, incremental, validation)

    def _initialize(self, Y, n_features, rs):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1] if Y.ndim == 2 else self._n_logits()
        self.out_activation_ = self._output_activation()
        # Dropout masks get their own seed; drawn only when used, so the RandomState stream (initial weights,
        # validation split, shuffling) stays scikit-learn's otherwise.
        self._seed = int(rs.randint(np.iinfo(np.int32).max)) if self._uses_dropout() else 0
        self._net = net = build_network(self, n_features, self.n_outputs_, self._seed)
        self._init_params(net, rs)
        expose_params(self, net)
        self.n_layers_ = len(self.coefs_) + 1
        training.start_record(self, net)


def stochastic_only(est):
    """``available_if`` check of ``partial_fit``: only mini-batch solvers can take one epoch at a time."""
    if est.solver not in STOCHASTIC_SOLVERS:
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. {est.solver} is not stochastic.")
    return True
