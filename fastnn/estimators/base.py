"""``BaseNeuralNetwork``: the scikit-learn face shared by fastnn's estimators (MLPs, CNNs).

It owns everything between the user's arrays and a trained ``Sequential``: hyperparameters and their constraints,
input validation, the network built from (and exposed as) ``coefs_``/``intercepts_``, the optimizer and
learning-rate schedule the hyperparameters describe, snapshot/restore around every fit (a failed fit leaves the
estimator as it was) and pickling (arrays and hyperparameters only). The solver loops live in ``fastnn.training.solvers``;
the network decides how its epochs run. Subclasses supply the model through hooks:

- ``_make_layers(n_features, n_outputs) -> list[Layer]``: the layer stack, last layer emitting logits;
- ``_input_shape(n_features) -> tuple``: per-sample input shape (``(n_features,)`` for an MLP; ``(C, H, W)``
  for a CNN, whose flat rows are reshaped to ``(N, *shape)`` as views);
- ``_init_params(net, rs)``: (re)draw initial weights from the ``RandomState`` ``rs``;
- ``_make_loss()``: the output loss (default: the one ``out_activation_`` calls for);
- ``_describe_layer(index, n_layers)``: how a build error names a layer of the stack;
- ``_validate_fit_data``, ``_encode_targets``/``_decode_targets``, ``_output_activation``, ``_validation_score``
  and friends: the classifier / regressor heads in ``fastnn.estimators``.

Training control: ``set_callbacks`` (scikit-learn's callback API, ``fastnn.training.callbacks``), ``progress_bar`` (a tqdm
bar, ``fastnn.training.progress``), both listening to the solver loops' epoch events (``fastnn.training.events``); ``scoring`` and
``fit``'s ``X_val``/``y_val``/``sample_weight_val`` for early stopping (``fastnn.training.scoring``).
"""
import copy
import numbers
import threading
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _version
from ..training import solvers as _solvers
from ..training.callbacks import CALLBACK_ATTRS, TRANSIENT_ATTRS, SetCallbacks, SklearnCallbacks, callback_mixin
from ..training.events import EpochEvents
from ..training.scoring import ValidationSet, check_validation_args
from ..training.checks import check_features, check_lengths, check_sample_weight
from ..layers import Dropout, all_finite, kernel_array
from ..losses import LOSSES
from .stack import build_error
from ..network import Sequential
from ..optimizers import OPTIMIZERS, EpochSchedule

#: Solvers stepping over mini-batches (``partial_fit`` is available for these).
STOCHASTIC_SOLVERS = ("sgd", "adam", "adagrad", "rmsprop", "adamw")
SOLVERS = ("lbfgs",) + STOCHASTIC_SOLVERS

#: Output link -> loss registry key.
OUTPUT_LOSSES = {"softmax": "log_loss", "logistic": "binary_log_loss", "identity": "squared_error", "exp": "poisson"}

#: Guards the (rare) rebuild of an estimator's network from ``coefs_``, so threads predicting at once on a freshly
#: unpickled model build it once; the prediction path itself holds no shared scratch buffers.
_NET_LOCK = threading.RLock()


def _fastnn_version():
    return _version.__version__


def _dtype(value):
    return np.dtype(value).type


def _dropout_rng_state(net):
    """The bit-generator states of the network's dropout layers (their masks continue from there)."""
    return [layer.rng_state for layer in net.layers if isinstance(layer, Dropout) and layer.rng_state is not None]


def _set_dropout_rng_state(net, states):
    layers = [layer for layer in net.layers if isinstance(layer, Dropout) and layer.rng_state is not None]
    if len(layers) == len(states):
        for layer, state in zip(layers, states):
            layer.rng_state = state


class BaseNeuralNetwork(callback_mixin(), BaseEstimator):
    """Base for fastnn's estimators; see the module docstring for the hooks subclasses implement."""

    #: ``set_callbacks(*callbacks)`` with scikit-learn >= 1.9; absent (with an error naming the version) before.
    set_callbacks = SetCallbacks()

    _parameter_constraints: dict = {
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive", "cosine", "plateau"})],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(numbers.Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left"), Options(numbers.Real, {np.inf})],
        "max_fun": [Interval(numbers.Integral, 1, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64})],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "progress_bar": ["boolean"],
        "fused": [StrOptions({"auto"}), "boolean"],
        "scoring": [str, callable, None],
    }

    #: How X must look, with the fix, for the error on arrays of 3 or more dimensions (subclasses that take
    #: images override it).
    _X_shape_hint = (
        "(n_samples, n_features); flatten each sample with X.reshape(len(X), -1) (or use CNNClassifier for images)"
    )

    @classmethod
    def _get_param_names(cls):
        """scikit-learn's list (the ``__init__`` signature, via ``inspect``), computed once per class: every
        ``fit``/``partial_fit`` reads it three times (parameter validation, snapshot, restore) at ~30 us each."""
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

    def _uses_dropout(self):
        """Whether the stack has dropout layers (they get a seed drawn from ``random_state``)."""
        return bool(getattr(self, "dropout", 0))

    def _reported_loss_scale(self):
        """Factor applied to the data term of the reported loss (scikit-learn averages squared error over
        outputs while its gradient sums them)."""
        return 1.0

    # ------------------------------------------------------------------ pickling and snapshots
    def __getstate__(self):
        """Hyperparameters, fitted arrays, the optimizer's state (step count, learning rate, moment buffers) and
        the dropout generators' states: everything ``partial_fit`` needs to continue exactly, and no code
        objects (the network is rebuilt from ``coefs_`` on first use)."""
        state = super().__getstate__()
        state = dict(state)
        net = state.pop("_net", None)
        if net is not None:
            rng_state = _dropout_rng_state(net)
            if rng_state:
                state["_dropout_rng_state"] = rng_state
        opt = state.pop("_optimizer", None)
        if opt is not None:
            state["_optimizer_state"] = opt.state_dict()
        for key in TRANSIENT_ATTRS:
            state.pop(key, None)
        state["_fastnn_version"] = _fastnn_version()
        return state

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop("_fastnn_version", "unknown")
        if version != _fastnn_version():
            from ..exceptions import InconsistentVersionWarning

            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_fastnn_version=_fastnn_version(),
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
            self._optimizer = self._make_optimizer(opt_state["lr"])
            self._optimizer.load_state_dict(opt_state)

    def _snapshot(self):
        """Deep copy of every fitted / private attribute (the network itself is rebuilt from ``coefs_``, its
        dropout generators from the state saved here); the callbacks and their contexts are not the fit's to
        copy or undo."""
        params = set(self.get_params(deep=False)).union(CALLBACK_ATTRS)
        snapshot = {k: copy.deepcopy(v) for k, v in vars(self).items() if k not in params and k != "_net"}
        net = getattr(self, "_net", None)
        if net is not None and _dropout_rng_state(net):
            snapshot["_dropout_rng_state"] = _dropout_rng_state(net)
        return snapshot

    def _restore(self, snapshot):
        params = set(self.get_params(deep=False)).union(CALLBACK_ATTRS)
        for key in [k for k in vars(self) if k not in params]:
            delattr(self, key)
        for key, value in snapshot.items():
            setattr(self, key, value)

    # ------------------------------------------------------------------ network plumbing
    @property
    def _np_dtype(self):
        return _dtype(self.dtype)

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be > 0 integers (one width per hidden layer), got {sizes}; pass e.g. "
                "(100,) or (64, 32), or () for no hidden layer."
            )
        return [int(s) for s in sizes]

    def _build_network(self, n_features, n_outputs, seed):
        net = Sequential(self._make_layers(n_features, n_outputs), self._make_loss(), fused=self.fused)
        try:
            net.build(self._input_shape(n_features), self._np_dtype, np.random.default_rng(seed))
        except ValueError as exc:
            error = build_error(net, exc, self._describe_layer)
            if error is None:
                raise
            raise error from None
        return net

    def _expose_params(self, net):
        """Make ``coefs_``/``intercepts_`` views into the network's flat parameter vector (per layer with
        parameters: its multiplicative and additive arrays, ``W``/``b`` or BatchNorm's ``gamma``/``beta``), and
        ``layer_state_`` views into its flat state vector (BatchNorm's running statistics; only for stacks with
        state)."""
        layers = [layer for layer in net.layers if layer.params]
        for layer in layers:
            if len(layer.params) != 2:
                raise ValueError(
                    f"{layer!r} has {len(layer.params)} parameter arrays; the estimators expose each layer's "
                    "parameters as a (coefs_[i], intercepts_[i]) pair, so a layer inside an estimator needs exactly "
                    "two."
                )
        self.coefs_ = [layer.params[0] for layer in layers]
        self.intercepts_ = [layer.params[1] for layer in layers]
        state = [s for layer in net.layers for s in layer.state]
        if state:
            self.layer_state_ = state
        else:
            self.__dict__.pop("layer_state_", None)

    def _network(self):
        """The ``Sequential`` behind ``coefs_``/``intercepts_``, rebuilt (and rebound) when they were replaced
        (after unpickling, a restore, or a user assigning new arrays)."""
        net = getattr(self, "_net", None)
        if net is not None and self._owns_params(net):
            return net
        with _NET_LOCK:
            net = getattr(self, "_net", None)
            if net is not None and self._owns_params(net):
                return net  # another thread rebuilt it meanwhile
            return self._rebuild_network()

    def _owns_params(self, net):
        layers = [layer for layer in net.layers if layer.params]
        coefs, intercepts = self.coefs_, self.intercepts_
        state = [s for layer in net.layers for s in layer.state]
        own_state = self.__dict__.get("layer_state_", [])
        return (
            net.dtype == np.dtype(self._np_dtype)
            and len(layers) == len(coefs) == len(intercepts)
            and all(l.params[0] is c and l.params[1] is b for l, c, b in zip(layers, coefs, intercepts))
            and len(state) == len(own_state)
            and all(s is o for s, o in zip(state, own_state))
        )

    def _rebuild_network(self):
        net = self._build_network(self.n_features_in_, self.n_outputs_, getattr(self, "_seed", 0))
        layers = [layer for layer in net.layers if layer.params]
        if len(layers) != len(self.coefs_) or any(
            l.params[0].shape != np.shape(c) or l.params[1].shape != np.shape(b)
            for l, c, b in zip(layers, self.coefs_, self.intercepts_)
        ):
            raise ValueError(
                "coefs_/intercepts_ do not match the architecture given by the current hyperparameters "
                f"({[np.shape(c) for c in self.coefs_]}); refit the model or restore the hyperparameters."
            )
        for layer, c, b in zip(layers, self.coefs_, self.intercepts_):
            layer.params[0][...] = c
            layer.params[1][...] = b
        state = [s for layer in net.layers for s in layer.state]
        saved = self.__dict__.get("layer_state_", [])
        if len(saved) != len(state) or any(s.shape != np.shape(v) for s, v in zip(state, saved)):
            raise ValueError(
                f"layer_state_ ({[np.shape(v) for v in saved]}) does not match the layer state of the architecture "
                f"({[s.shape for s in state]}); refit the model or restore the hyperparameters."
            )
        for s, v in zip(state, saved):
            s[...] = v
        rng_state = self.__dict__.pop("_dropout_rng_state", None)
        if rng_state is not None:
            _set_dropout_rng_state(net, rng_state)
        self._expose_params(net)
        self._net = net
        return net

    def _make_optimizer(self, lr):
        solver = self.solver
        if solver == "sgd":
            nesterov = bool(self.nesterovs_momentum and self.momentum > 0)
            return OPTIMIZERS["sgd"](lr, momentum=self.momentum, nesterov=nesterov)
        if solver == "adam":
            return OPTIMIZERS["adam"](lr, self.beta_1, self.beta_2, self.epsilon)
        if solver == "adamw":
            return OPTIMIZERS["adamw"](lr, self.beta_1, self.beta_2, self.epsilon, self.weight_decay)
        if solver == "adagrad":
            return OPTIMIZERS["adagrad"](lr, eps=self.epsilon)
        if solver == "rmsprop":
            return OPTIMIZERS["rmsprop"](lr, rho=0.9, eps=self.epsilon)
        raise ValueError(f"solver {solver!r} has no mini-batch optimizer.")

    def _epoch_schedule(self):
        """The ``learning_rate`` schedule; as in scikit-learn, 'invscaling' and 'adaptive' apply to sgd only."""
        kind = self.learning_rate
        if kind in ("invscaling", "adaptive") and self.solver != "sgd":
            kind = "constant"
        return EpochSchedule(kind, self.learning_rate_init, self.power_t, self.max_iter)

    def _validate_sample_weight(self, sample_weight, X):
        return check_sample_weight(sample_weight, X, self._np_dtype)

    # ------------------------------------------------------------------ forward for prediction
    def _check_input(self, X):
        """``X`` validated for prediction. A clean input - a 2-D float ndarray with ``n_features_in_`` columns,
        for a model fitted without feature names, finite once in the model's dtype - is only converted
        to the model's C-contiguous dtype, which is all ``validate_data`` would do; anything else goes through
        ``validate_data`` and its errors. This keeps one-row predictions an order of magnitude faster."""
        if (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype.kind == "f"
            and X.shape[0] > 0
            and X.shape[1] == getattr(self, "n_features_in_", -1)
            and not hasattr(self, "feature_names_in_")
        ):
            converted = kernel_array(X, self._np_dtype)
            if all_finite(converted):
                return converted
        check_features(X, self)
        return validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=self._np_dtype, order="C", reset=False
        )

    # ------------------------------------------------------------------ fit entry point
    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None, validation=None):
        """``validation``: ``fit``'s ``(X_val, y_val, sample_weight_val)``, or None."""
        validation = None if validation is None else check_validation_args(self, *validation)
        snapshot = self._snapshot()
        try:
            self._fit_impl(X, y, sample_weight, incremental, classes, validation)
        except _solvers.NonFiniteError as exc:
            self._restore(snapshot)
            action = "partial_fit" if incremental else "fit"
            if self.solver == "lbfgs":
                remedy = "the input data may contain large values: scale the inputs (e.g. StandardScaler) or increase alpha"
            else:
                remedy = (
                    "the input data may contain large values or the step size is too large: scale the inputs (e.g. "
                    "StandardScaler) or lower learning_rate_init"
                )
            raise ValueError(
                f"{type(self).__name__}.{action} stopped: {exc}; {remedy}. The estimator was left exactly as it "
                "was before this call."
            ) from None
        except BaseException:
            self._restore(snapshot)
            raise
        return self

    def _fit_impl(self, X, y, sample_weight, incremental, classes, validation=None):
        self._hidden_sizes_check()
        check_features(X, self)
        check_lengths(X, y)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        given = (X, y, sample_weight)  # what callbacks receive: predicting on it needs no extra conversion
        X, Y, sample_weight, stratify = self._validate_fit_data(X, y, sample_weight, incremental, first_pass, classes)
        n_samples, n_features = X.shape
        rs = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, n_features, rs)
        if validation is not None:
            validation = ValidationSet.from_user(self, *validation)
        net = self._network()
        events = self._fit_events(*given, incremental)
        try:
            if self.solver == "lbfgs":
                _solvers.fit_lbfgs(self, net, X, Y, sample_weight, events)
            else:
                _solvers.fit_stochastic(self, net, X, Y, sample_weight, stratify, rs, incremental, events, validation)
            if not np.isfinite(net.flat_params).all():
                raise _solvers.NonFiniteError("the solver produced non-finite parameter weights")
            events.fit_end(self)
        finally:
            events.close()

    def _fit_events(self, X, y, sample_weight, incremental):
        """The fit's epoch listeners: the progress bar (mini-batch solvers) and scikit-learn's callbacks, which
        receive ``X``, ``y`` and ``sample_weight`` as given to ``fit``. Empty, hence free, without either."""
        events = EpochEvents()
        stochastic = self.solver != "lbfgs"
        try:
            if self.progress_bar and stochastic:
                from ..training.progress import EpochBar

                events.listeners.append(EpochBar(1 if incremental else self.max_iter, type(self).__name__))
            if getattr(self, "_skl_callbacks", None):
                # L-BFGS may end one extra, unfinished iteration (see _solvers._LbfgsIterations).
                subtasks = 1 if incremental else self.max_iter + (0 if stochastic else 1)
                task = "partial_fit" if incremental else "fit"
                subtask = "epoch" if stochastic else "lbfgs-iter"
                events.listeners.append(SklearnCallbacks(self, X, y, sample_weight, subtasks, task, subtask))
        except BaseException:
            events.close()
            raise
        return events

    def _hidden_sizes_check(self):
        if hasattr(self, "hidden_layer_sizes"):
            self._hidden_sizes()

    def _initialize(self, Y, n_features, rs):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1] if Y.ndim == 2 else self._n_logits()
        self.out_activation_ = self._output_activation()
        # Dropout masks get their own seed; drawn only when used, so the RandomState stream (initial weights,
        # validation split, shuffling) stays scikit-learn's otherwise.
        self._seed = int(rs.randint(np.iinfo(np.int32).max)) if self._uses_dropout() else 0
        self._net = net = self._build_network(n_features, self.n_outputs_, self._seed)
        self._init_params(net, rs)
        self._expose_params(net)
        self.n_layers_ = len(self.coefs_) + 1
        self._best_params = net.copy_params()
        self._best_state = net.flat_state.copy()
        self._optimizer = None
        for attr in ("loss_curve_", "learning_rate_curve_", "validation_scores_", "best_validation_score_",
                     "best_loss_", "validation_loss_curve_"):
            if hasattr(self, attr):
                delattr(self, attr)
        if self.solver in STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self.learning_rate_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.validation_loss_curve_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _check_fitted(self):
        if "coefs_" not in self.__dict__:  # the common, fitted case costs one dict lookup
            check_is_fitted(self, "coefs_")
