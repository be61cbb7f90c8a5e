"""Training machinery shared by fastnn's scikit-learn estimators (MLPs now, CNNs later).

``BaseNeuralNetwork`` owns everything between validated arrays and a trained ``Sequential``: the solver loop
(mini-batch solvers and L-BFGS), batching into preallocated buffers, learning-rate schedules, the
``n_iter_no_change``/``tol`` logic, early stopping with best-weights restore, snapshot/restore around a fit,
and pickling (arrays and hyperparameters only). Subclasses supply the model through hooks:

- ``_make_layers(n_features, n_outputs) -> list[Layer]``: the layer stack, last layer emitting logits;
- ``_input_shape(n_features) -> tuple``: per-sample input shape (``(n_features,)`` for an MLP; ``(C, H, W)``
  for a CNN, whose flat rows are reshaped to ``(N, *shape)`` as views);
- ``_init_params(net, rs)``: (re)draw initial weights from the ``RandomState`` ``rs``;
- ``_encode_targets(y, ...)`` and friends: the classifier / regressor heads in ``fastnn.estimators``.

Objective and scaling (identical to scikit-learn's MLP): for a mini-batch ``B`` with sample weights ``w``
(ones when absent), ``L_B = sum_{i in B} w_i l_i / sum_B w + 0.5 * alpha * sum ||W||^2 / sum_B w``, i.e.
``Sequential.l2 = alpha / sum_B w`` per batch; L-BFGS minimises the same over the whole training set. The
reported epoch loss is ``sum_B |B| L_B / n`` (``loss_curve_``), with the squared error's data term averaged
over outputs as scikit-learn reports it.
"""
import copy
import math
import numbers
import threading
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, _num_samples, check_is_fitted, validate_data

from .kernels import checks as _checks
from .kernels import mlp as _mlp
from .kernels import softmax as _softmax
from .layers import Dense, _Activation, kernel_array
from .losses import LOSSES, PoissonLoss, SigmoidCrossEntropy, SoftmaxCrossEntropy, SquaredError
from ._progress import EpochBar
from .network import Sequential
from .optimizers import OPTIMIZERS, SGD, Adagrad, Adam, AdamW, RMSProp

#: Solvers stepping over mini-batches (``partial_fit`` is available for these).
STOCHASTIC_SOLVERS = ("sgd", "adam", "adagrad", "rmsprop", "adamw")
SOLVERS = ("lbfgs",) + STOCHASTIC_SOLVERS

#: Output link -> loss registry key.
OUTPUT_LOSSES = {"softmax": "log_loss", "logistic": "binary_log_loss", "identity": "squared_error", "exp": "poisson"}

#: Rows densified at a time when X is sparse (L-BFGS and prediction).
SPARSE_CHUNK = 2048


class _NonFiniteError(ArithmeticError):
    """Raised inside the solver loop when the loss or the weights stop being finite."""


def _non_finite_loss(epoch, batch):
    """The error of both training paths (layered and fused) when a mini-batch objective is not finite."""
    return _NonFiniteError(f"the training loss became non-finite (inf or NaN) at iteration {epoch}, mini-batch {batch}")


#: Guards the (rare) rebuild of an estimator's network from ``coefs_``, so threads predicting at once on a freshly
#: unpickled model build it once; the prediction path itself holds no shared scratch buffers.
_NET_LOCK = threading.RLock()


def _lbfgs_print_option(verbose):
    """L-BFGS-B's ``iprint`` option, which SciPy 1.15 removed (verbose L-BFGS then prints nothing, as in
    scikit-learn)."""
    major, minor = (int(part) for part in scipy.__version__.split(".")[:2])
    return {} if (major, minor) >= (1, 15) else {"iprint": 1 if verbose else -1}


def _fastnn_version():
    import fastnn  # the package is fully imported by the time an estimator is pickled or unpickled

    return fastnn.__version__


def _check_features(X, estimator):
    """Reject, with an actionable message, feature matrices that ``validate_data`` would reject obscurely or
    convert silently: 3-D or higher arrays, strings (numeric-looking strings included) and complex numbers."""
    if sp.issparse(X):
        return
    name = type(estimator).__name__
    ndim = getattr(X, "ndim", None)
    if ndim is not None and ndim > 2:
        raise ValueError(f"{name} got a {ndim}-D X of shape {X.shape}; it expects X of shape {estimator._X_shape_hint}.")
    # numpy arrays have one dtype, DataFrames one per column; lists are left to validate_data
    dtypes = list(X.dtypes) if hasattr(X, "dtypes") and not hasattr(X, "dtype") else [getattr(X, "dtype", None)]
    kinds = {getattr(dtype, "kind", None) for dtype in dtypes}
    if "c" in kinds:
        raise ValueError(
            f"Complex data not supported: {name} trains on real numbers, got complex values in X; pass X.real, "
            "np.abs(X), or the real and imaginary parts as separate features."
        )
    if kinds & {"U", "S"} or ("O" in kinds and _holds_strings(X)):
        raise TypeError(
            f"{name} needs numeric features, got strings in X; encode categorical columns first (e.g. "
            "sklearn.preprocessing.OneHotEncoder or OrdinalEncoder in a ColumnTransformer), or convert numbers "
            "stored as text with X.astype(float)."
        )


def _check_lengths(X, y):
    try:
        n_X, n_y = _num_samples(X), _num_samples(y)
    except TypeError:
        return  # not array-like: validate_data says so
    if n_X != n_y:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: X has {n_X} rows but y has {n_y}; pass "
            "one target per row of X (were X and y filtered or split separately?)."
        )


def _holds_strings(X):
    values = X.to_numpy(dtype=object) if hasattr(X, "to_numpy") else np.asarray(X, dtype=object)
    return any(isinstance(v, (str, bytes)) for v in values.ravel())


def _dtype(value):
    return np.dtype(value).type


def _writable(a):
    return a if not isinstance(a, np.ndarray) or a.flags.writeable else np.array(a)


def _dropout_rng_state(net):
    """The bit-generator states of the network's dropout layers (their masks continue from there)."""
    return [layer._rng.bit_generator.state for layer in net.layers if hasattr(layer, "_rng")]


def _set_dropout_rng_state(net, states):
    layers = [layer for layer in net.layers if hasattr(layer, "_rng")]
    if len(layers) == len(states):
        for layer, state in zip(layers, states):
            layer._rng.bit_generator.state = state


#: Use the fused whole-epoch kernel (``kernels.mlp.mlp_epoch``) when the network is eligible; tests switch it off
#: to compare against the layered path.
_FUSED_EPOCH = True

_SOLVER_CODES = {Adam: _mlp.ADAM, AdamW: _mlp.ADAM, Adagrad: _mlp.ADAGRAD, RMSProp: _mlp.RMSPROP, SGD: _mlp.SGD}
_LOSS_CODES = {SigmoidCrossEntropy: _mlp.SIGMOID, SquaredError: _mlp.SQUARED, PoissonLoss: _mlp.POISSON}
_EMPTY = {np.dtype(t).char: np.empty(0, t) for t in (np.float32, np.float64)}
_EMPTY_2D = {np.dtype(t).char: np.empty((0, 0), t) for t in (np.float32, np.float64)}
_NO_LABELS = np.empty(0, np.intp)


def _kernel_ready(a, dtype, ndim):
    """Whether ``a`` can go to a kernel as is: a C-contiguous, aligned, writable ndarray of ``dtype``/``ndim``
    (anything else would compile another signature or need a copy)."""
    return (
        type(a) is np.ndarray and a.dtype == dtype and a.ndim == ndim and a.flags.c_contiguous
        and a.flags.aligned and a.flags.writeable
    )


def _readonly(a):
    """A read-only view: the fused kernel only reads its inputs, and typing them all read-only keeps one compiled
    signature whether or not the caller's arrays are writable (a writable array would be a second signature)."""
    view = a.view()
    view.flags.writeable = False
    return view


def _fused_layers(net):
    """``(Ws, bs, dWs, dbs, codes, slopes)`` for a ``Dense (activation Dense)*`` stack, else None; cached on the net."""
    cache = net.__dict__.get("_fused_cache")
    if cache is not None:
        return cache
    layers = net.layers
    ok = len(layers) % 2 == 1 and net._first == 0 and all(
        type(layer) is Dense if i % 2 == 0 else isinstance(layer, _Activation) for i, layer in enumerate(layers)
    )
    if ok:
        dense, acts = layers[0::2], layers[1::2]
        codes = np.array([a.code for a in acts] or [0], np.int64)
        slopes = np.array([a.slope for a in acts] or [0.0], np.float64)
        cache = (tuple(d.W for d in dense), tuple(d.b for d in dense), tuple(d.dW for d in dense),
                 tuple(d.db for d in dense), codes, slopes)
    else:
        cache = False
    net._fused_cache = cache
    return cache


def _fused_plan(net, X, Y, sample_weight, opt, batch_size, buffers):
    """Everything ``kernels.mlp.mlp_epoch`` needs besides the per-call scalars, or None when the layered path must
    run: the network must be a Dense/activation stack (no dropout), X a dense kernel-ready array, the optimizer
    one of SGD/Adam/AdamW/Adagrad/RMSProp with a constant learning rate and the loss one of the four fused ones."""
    layers = _fused_layers(net)
    dtype = net.dtype
    if (
        not layers or type(X) is not np.ndarray or X.dtype != dtype or X.ndim != 2 or not X.flags.c_contiguous
        or not X.flags.aligned or net.input_shape != X.shape[1:]
    ):
        return None
    if type(opt) not in _SOLVER_CODES or callable(opt.lr) or not _kernel_ready(buffers[0], dtype, 2):
        return None
    if opt.state is not None and not all(
        len(opt.state) == 1 and _kernel_ready(s, dtype, 1) and s.shape == net.flat_params.shape for s in opt.state[0]
    ):
        return None
    if sample_weight is not None and (
        type(sample_weight) is not np.ndarray or sample_weight.dtype != dtype or sample_weight.ndim != 1
        or not sample_weight.flags.c_contiguous
        or not _kernel_ready(buffers[2], dtype, 1)
    ):
        return None
    loss = type(net.loss)
    n_out = net.output_shape[0]
    if loss is SoftmaxCrossEntropy and Y.ndim == 1 and Y.dtype.kind in "iub":
        code = _mlp.SOFTMAX_LABELS
        labels = np.ascontiguousarray(Y, dtype=np.intp)
        Yarr = _EMPTY_2D[dtype.char]
    elif loss is SoftmaxCrossEntropy or loss in _LOSS_CODES:
        code = _mlp.SOFTMAX if loss is SoftmaxCrossEntropy else _LOSS_CODES[loss]
        Yarr = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        if Yarr.ndim != 2 or Yarr.shape[1] != n_out:
            return None
        Yarr = np.ascontiguousarray(Yarr, dtype=dtype)
        labels = _NO_LABELS
    else:
        return None
    work = net.__dict__.setdefault("_fused_work", {})
    key = (batch_size, code == _mlp.SOFTMAX_LABELS)
    if key not in work:
        widths = [W.shape[1] for W in layers[0]]
        zs = tuple(np.empty((batch_size, k), dtype) for k in widths)
        hidden = tuple(np.empty((batch_size, k), dtype) for k in widths[:-1]) or (_EMPTY_2D[dtype.char],)
        dhs = tuple(np.empty((batch_size, k), dtype) for k in widths[:-1]) or (_EMPTY_2D[dtype.char],)
        dzs = tuple(np.empty((batch_size, k), dtype) for k in widths)
        if code == _mlp.SOFTMAX_LABELS:
            lbuf, ybuf = np.empty(batch_size, np.intp), _EMPTY_2D[dtype.char]
        else:
            lbuf, ybuf = _NO_LABELS, np.empty((batch_size, n_out), dtype)
        work[key] = ((zs, hidden, dhs, dzs), lbuf, ybuf)
    bufs, lbuf, ybuf = work[key]
    return layers, bufs, (code, _readonly(labels), _readonly(Yarr), lbuf, ybuf)


class BaseNeuralNetwork(BaseEstimator):
    """Base for fastnn's estimators; see the module docstring for the hooks subclasses implement."""

    _parameter_constraints: dict = {
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
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
            state["_optimizer_state"] = {"t": opt.t, "lr": opt.lr, "state": opt.state}
        state["_fastnn_version"] = _fastnn_version()
        return state

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop("_fastnn_version", "unknown")
        if version != _fastnn_version():
            from .exceptions import InconsistentVersionWarning

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
        if isinstance(state.get("_best_params"), np.ndarray):
            state["_best_params"] = _writable(state["_best_params"])
        super().__setstate__(state)
        if opt_state is not None:
            opt = self._make_optimizer(opt_state["lr"])
            buffers = opt_state["state"]
            if buffers is not None:
                buffers = [[_writable(b) for b in per_param] for per_param in buffers]
            opt.t, opt.state = opt_state["t"], buffers
            self._optimizer = opt

    def _snapshot(self):
        """Deep copy of every fitted / private attribute (the network itself is rebuilt from ``coefs_``, its
        dropout generators from the state saved here)."""
        params = set(self.get_params(deep=False))
        snapshot = {k: copy.deepcopy(v) for k, v in vars(self).items() if k not in params and k != "_net"}
        net = getattr(self, "_net", None)
        if net is not None and _dropout_rng_state(net):
            snapshot["_dropout_rng_state"] = _dropout_rng_state(net)
        return snapshot

    def _restore(self, snapshot):
        params = set(self.get_params(deep=False))
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
        loss = LOSSES[OUTPUT_LOSSES[self.out_activation_]]()
        net = Sequential(self._make_layers(n_features, n_outputs), loss)
        net.build(self._input_shape(n_features), self._np_dtype, np.random.default_rng(seed))
        return net

    def _expose_params(self, net):
        """Make ``coefs_``/``intercepts_`` views into the network's flat parameter vector."""
        layers = [layer for layer in net.layers if layer.params]
        self.coefs_ = [layer.params[0] for layer in layers]
        self.intercepts_ = [layer.params[1] for layer in layers]

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
        return (
            net.dtype == np.dtype(self._np_dtype)
            and len(layers) == len(coefs) == len(intercepts)
            and all(l.params[0] is c and l.params[1] is b for l, c, b in zip(layers, coefs, intercepts))
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

    def _set_learning_rate(self, lr):
        """Change the optimizer's step size; SGD's momentum buffer is rescaled so that the update equals
        scikit-learn's velocity form ``v = momentum v - lr g`` (``v = -lr * buf``) across the change."""
        opt = self._optimizer
        old = float(opt.lr)
        if lr != old and self.solver == "sgd" and opt.state:
            for s in opt.state:
                for buf in s:
                    buf *= buf.dtype.type(old / lr)
        opt.lr = float(lr)

    def _validate_sample_weight(self, sample_weight, X):
        """``sample_weight`` as a ``(n_samples,)`` array of the estimator's dtype: finite, non-negative (a
        negative weight would reward errors, making the objective unbounded below) and not all zero."""
        n = X.shape[0]
        sample_weight = np.asarray(sample_weight)
        if sample_weight.ndim != 0 and sample_weight.shape != (n,):
            raise ValueError(
                f"sample_weight has shape {sample_weight.shape} but X has {n} samples; pass one weight per "
                f"sample, an array of shape ({n},)."
            )
        if sample_weight.ndim != 0 and n and not np.any(sample_weight):
            raise ValueError(
                "sample_weight is zero for every sample, so there is nothing to fit; give the samples to learn "
                "from a positive weight (or drop sample_weight)."
            )
        return _check_sample_weight(sample_weight, X, dtype=self._np_dtype, ensure_non_negative=True)

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
            converted = np.ascontiguousarray(X, dtype=self._np_dtype)
            if _checks.all_finite(_readonly(converted.reshape(-1))):
                return converted
        _check_features(X, self)
        return validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=self._np_dtype, order="C", reset=False
        )

    def _logits(self, X, net=None):
        """Network output for validated ``X``; sparse input is densified ``SPARSE_CHUNK`` rows at a time.
        Inference allocates its outputs and caches nothing, so concurrent calls are safe."""
        net = net if net is not None else self._network()
        shape = self._input_shape(X.shape[1])
        if not sp.issparse(X):
            fused = _fused_layers(net)
            if fused:
                Ws, bs, _, _, codes, slopes = fused
                return _mlp.mlp_forward(kernel_array(X, net.dtype), Ws, bs, codes, slopes)  # = the layered result
            return net.forward(X.reshape(X.shape[0], *shape), training=False)
        X = X.tocsr()
        out = np.empty((X.shape[0], self.n_outputs_), self._np_dtype)
        for start in range(0, X.shape[0], SPARSE_CHUNK):
            rows = X[start : start + SPARSE_CHUNK].toarray()
            out[start : start + rows.shape[0]] = net.forward(rows.reshape(rows.shape[0], *shape), training=False)
        return out

    # ------------------------------------------------------------------ fit entry point
    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        snapshot = self._snapshot()
        try:
            self._fit_impl(X, y, sample_weight, incremental, classes)
        except _NonFiniteError as exc:
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

    def _fit_impl(self, X, y, sample_weight, incremental, classes):
        self._hidden_sizes_check()
        _check_features(X, self)
        _check_lengths(X, y)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y, sample_weight, stratify = self._validate_fit_data(X, y, sample_weight, incremental, first_pass, classes)
        n_samples, n_features = X.shape
        rs = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, n_features, rs)
        net = self._network()
        if self.solver == "lbfgs":
            self._fit_lbfgs(net, X, Y, sample_weight)
        else:
            self._progress = EpochBar(1 if incremental else self.max_iter, self.progress_bar, type(self).__name__)
            try:
                self._fit_stochastic(net, X, Y, sample_weight, stratify, rs, incremental)
            finally:
                self.__dict__.pop("_progress").close()
        if not np.isfinite(net.flat_params).all():
            raise _NonFiniteError("the solver produced non-finite parameter weights")

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
        self._seed = int(rs.randint(np.iinfo(np.int32).max)) if getattr(self, "dropout", 0) else 0
        self._net = net = self._build_network(n_features, self.n_outputs_, self._seed)
        self._init_params(net, rs)
        self._expose_params(net)
        self.n_layers_ = len(self.coefs_) + 1
        self._best_params = net.get_state()
        self._optimizer = None
        for attr in ("loss_curve_", "validation_scores_", "best_validation_score_", "best_loss_",
                     "validation_loss_curve_"):
            if hasattr(self, attr):
                delattr(self, attr)
        if self.solver in STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
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

    # ------------------------------------------------------------------ L-BFGS
    def _fit_lbfgs(self, net, X, Y, sample_weight):
        n = X.shape[0]
        total_w = float(n if sample_weight is None else np.sum(sample_weight, dtype=np.float64))
        flat = net.flat_params
        chunk = SPARSE_CHUNK if sp.issparse(X) else n
        alpha = float(self.alpha)
        shape = self._input_shape(X.shape[1])

        def objective(x):
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
                net.l2 = 0.0 if penalised else alpha / w_c
                penalised = True
                part = net.loss_and_grad(xb.reshape(stop - start, *shape), Y[start:stop], wb)
                frac = w_c / total_w
                loss += frac * part
                grad64 += frac * net.flat_grads
            return loss, grad64

        opt_res = scipy.optimize.minimize(
            objective,
            flat.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            options={
                "maxfun": self.max_fun,
                "maxiter": self.max_iter,
                "gtol": self.tol,
                **_lbfgs_print_option(self.verbose),
            },
        )
        self.n_iter_ = _check_optimize_result("lbfgs", opt_res, self.max_iter)
        if not np.isfinite(opt_res.fun):
            raise _NonFiniteError("the L-BFGS objective became non-finite")
        flat[...] = opt_res.x
        net.l2 = alpha / total_w
        penalty = net.penalty()
        self.loss_ = float((opt_res.fun - penalty) * self._reported_loss_scale() + penalty)

    # ------------------------------------------------------------------ mini-batch solvers
    def _fit_stochastic(self, net, X, Y, sample_weight, stratify, rs, incremental):
        if not incremental or getattr(self, "_optimizer", None) is None:
            self._optimizer = self._make_optimizer(float(self.learning_rate_init))
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        if early_stopping:
            train_idx, val_idx = self._validation_split(X.shape[0], stratify, rs)
            X_val, Y_val = X[val_idx], Y[val_idx]
            sw_val = None if sample_weight is None else sample_weight[val_idx]
            X, Y = X[train_idx], Y[train_idx]
            sample_weight = None if sample_weight is None else sample_weight[train_idx]
            val_loss = LOSSES[OUTPUT_LOSSES[self.out_activation_]]()
        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        dtype = self._np_dtype
        buffers = (
            np.empty((batch_size, X.shape[1]), dtype),
            np.empty((batch_size,) + Y.shape[1:], Y.dtype),
            None if sample_weight is None else np.empty(batch_size, dtype),
        )
        order = np.arange(n_samples)
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            if self.shuffle:
                # scikit-learn's ``shuffle(sample_idx, random_state=rs)``: the same draws, the same order.
                perm = np.arange(n_samples)
                rs.shuffle(perm)
                order = order[perm]
            accumulated = self._run_epoch(net, X, Y, sample_weight, order, batch_size, buffers)
            self.n_iter_ += 1
            self.loss_ = accumulated / n_samples
            # Each step's loss is checked in _run_epoch; a last step that overflows the weights while its loss
            # (computed before the update) was finite is caught here, in the same epoch.
            if not np.isfinite(net.flat_params).all():
                raise _NonFiniteError(f"the parameter weights became non-finite (inf or NaN) at iteration {self.n_iter_}")
            self.t_ += n_samples
            self.loss_curve_.append(self.loss_)
            if self.verbose:
                self._print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
            if early_stopping:
                self._update_validation(net, X_val, Y_val, sw_val, val_loss)
            else:
                self._update_training_loss()
            self._progress.update(self.loss_, self.validation_scores_[-1] if early_stopping else None)
            if self.solver == "sgd" and self.learning_rate == "invscaling":
                self._set_learning_rate(float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t)
            if self._no_improvement_count > self.n_iter_no_change:
                if early_stopping:
                    msg = "Validation score did not improve more than tol=%f for %d consecutive epochs." % (
                        self.tol, self.n_iter_no_change)
                else:
                    msg = "Training loss did not improve more than tol=%f for %d consecutive epochs." % (
                        self.tol, self.n_iter_no_change)
                if self._trigger_stopping(msg):
                    break
                self._no_improvement_count = 0
            if incremental:
                break
            if self.n_iter_ == self.max_iter:
                warnings.warn(
                    "Stochastic Optimizer: Maximum iterations (%d) reached and the optimization hasn't converged yet."
                    % self.max_iter,
                    ConvergenceWarning,
                )
        if early_stopping:
            net.set_state(self._best_params)

    def _run_epoch(self, net, X, Y, sample_weight, order, batch_size, buffers):
        """One pass over the training set in the given sample ``order``; returns ``sum_B |B| L_B``.

        Batches are gathered into the preallocated ``buffers`` (sparse rows are densified per batch); the only
        per-batch work besides the network call is the gather and the ``l2 = alpha / sum_B w`` scaling. This
        method is the unit a fused whole-epoch kernel can replace.
        """
        if _FUSED_EPOCH:
            plan = _fused_plan(net, X, Y, sample_weight, self._optimizer, batch_size, buffers)
            if plan is not None:
                return self._run_fused_epoch(plan, net, X, Y, sample_weight, order, batch_size, buffers)
        xbuf, ybuf, wbuf = buffers
        opt = self._optimizer
        params, grads = [net.flat_params], [net.flat_grads]
        alpha = float(self.alpha)
        scale = self._reported_loss_scale()
        sparse = sp.issparse(X)
        shape = self._input_shape(X.shape[1])
        n = X.shape[0]
        total = 0.0
        epoch = self.n_iter_ + 1
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            m = stop - start
            idx = order[start:stop]
            xb = xbuf[:m]
            if sparse:
                xb[...] = X[idx].toarray()
            else:
                np.take(X, idx, axis=0, out=xb, mode="clip")
            yb = ybuf[:m]
            np.take(Y, idx, axis=0, out=yb, mode="clip")
            if wbuf is None:
                wb = None
                net.l2 = alpha / m
            else:
                wb = wbuf[:m]
                np.take(sample_weight, idx, out=wb, mode="clip")
                w_sum = _softmax.weight_total(wb)
                if w_sum <= 0.0:
                    continue  # a batch of zero-weight samples carries no data: no step (and no 0/0 loss)
                net.l2 = alpha / w_sum
            loss = net.loss_and_grad(xb.reshape(m, *shape), yb, wb)
            if not math.isfinite(loss):
                raise _non_finite_loss(epoch, start // batch_size + 1)
            if scale != 1.0:
                penalty = net.penalty()
                loss = (loss - penalty) * scale + penalty
            opt.step(params, grads)
            total += loss * m
        return total

    def _run_fused_epoch(self, plan, net, X, Y, sample_weight, order, batch_size, buffers):
        """``_run_epoch`` as one ``kernels.mlp.mlp_epoch`` call (same kernels, same order: bit-identical)."""
        layers, work, (loss_code, labels, Yarr, lbuf, ybuf) = plan
        opt = self._optimizer
        fresh_state = opt.state is None
        if fresh_state:  # what Optimizer.step does on its first call
            opt.state = [[np.zeros_like(net.flat_params) for _ in range(opt.n_state)]]
        state = opt.state[0]
        empty = _EMPTY[net.dtype.char]
        s1 = state[0] if len(state) > 0 else empty
        s2 = state[1] if len(state) > 1 else empty
        xbuf, _, wbuf = buffers
        w = _readonly(sample_weight if sample_weight is not None else empty)
        wbuf = wbuf if wbuf is not None else empty
        order = _readonly(np.ascontiguousarray(order, dtype=np.intp))
        lr = float(opt.learning_rate())
        if isinstance(opt, SGD):
            solver, momentum, dampening, nesterov = _mlp.SGD, opt.momentum, opt.dampening, opt.nesterov
        else:
            solver, momentum, dampening, nesterov = _SOLVER_CODES[type(opt)], 0.0, 0.0, False
        total, steps, status = _mlp.mlp_epoch(
            _readonly(X), labels, Yarr, w, order, int(batch_size), *layers, xbuf, lbuf, ybuf, wbuf, *work,
            loss_code, float(self.alpha), float(self._reported_loss_scale()),
            net.flat_params, net.flat_grads, s1, s2, solver, int(opt.t), lr, float(momentum), float(dampening),
            bool(nesterov), float(getattr(opt, "beta1", 0.0)), float(getattr(opt, "beta2", 0.0)),
            float(getattr(opt, "eps", 0.0)), float(getattr(opt, "weight_decay", 0.0)), float(getattr(opt, "rho", 0.0)),
        )
        opt.t += int(steps)
        if fresh_state and not steps:
            opt.state = None
        if status:
            raise _non_finite_loss(self.n_iter_ + 1, status)
        return float(total)

    def _validation_split(self, n, stratify, rs):
        idx = np.arange(n)
        if stratify is not None:
            _, counts = np.unique(stratify, return_counts=True)
            n_val = int(np.ceil(self.validation_fraction * n))
            if counts.min() < 2 or n_val < counts.size or n - n_val < counts.size:
                stratify = None  # a class too small to appear on both sides: fall back to a plain split
        train_idx, val_idx = train_test_split(
            idx, random_state=rs, test_size=self.validation_fraction, stratify=stratify
        )
        if val_idx.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the size of your dataset."
            )
        return train_idx, val_idx

    def _update_validation(self, net, X_val, Y_val, sw_val, val_loss):
        logits = self._logits(X_val, net)
        with np.errstate(all="ignore"):
            finite = np.isfinite(logits).all()
            score = self._validation_score(logits, Y_val, sw_val) if finite else np.nan
            vloss = val_loss.forward(logits, Y_val, sw_val) if finite else np.nan
        scale = self._reported_loss_scale()
        self.validation_loss_curve_.append(float(vloss) * scale)
        self.validation_scores_.append(score)
        if self.verbose:
            self._print("Validation score: %f" % score)
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            self._best_params[...] = net.flat_params

    def _update_training_loss(self):
        if self.loss_curve_[-1] > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if self.loss_curve_[-1] < self.best_loss_:
            self.best_loss_ = self.loss_curve_[-1]

    def _trigger_stopping(self, msg):
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                self._print(msg + " Stopping.")
            return True
        lr = float(self._optimizer.lr)
        if lr <= 1e-6:
            if self.verbose:
                self._print(msg + " Learning rate too small. Stopping.")
            return True
        self._set_learning_rate(lr / 5.0)
        if self.verbose:
            self._print(msg + " Setting learning rate to %f" % self._optimizer.lr)
        return False

    def _print(self, line):
        """A ``verbose`` line, written above the progress bar when one is shown."""
        bar = self.__dict__.get("_progress")
        if bar is None:
            print(line)
        else:
            bar.write(line)

    def _check_fitted(self):
        if "coefs_" not in self.__dict__:  # the common, fitted case costs one dict lookup
            check_is_fitted(self, "coefs_")
