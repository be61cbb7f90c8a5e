"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor`` (drop-in for ``sklearn.neural_network``).

Same parameters, defaults, fitted attributes and semantics as scikit-learn 1.9's MLPs (see the parity notes in
each class), computed in ``float32`` by default, with extras: ``activation='leaky_relu'``, solvers
``adagrad``/``rmsprop``/``adamw``, ``dropout``, ``class_weight``, ``validation_loss_curve_``, failure-safe
``fit``/``partial_fit`` and array-only pickles. The scikit-learn machinery lives in ``fastnn.estimators.base`` and the solver
loops in ``fastnn.training.solvers``; the classifier and regressor heads here are reusable by other architectures (override
``_make_layers``).
"""
import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets, type_of_target
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_array, validate_data

import numbers

from .base import STOCHASTIC_SOLVERS, BaseNeuralNetwork
from .features import LayerFeatures
from .summary import ModelSummary
from .stack import LayerStack
from ..layers import ACTIVATIONS, Dense, Dropout
from ..losses import LOSSES, HuberLoss


def _stochastic(est):
    if est.solver not in STOCHASTIC_SOLVERS:
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. {est.solver} is not stochastic.")
    return True


class _MLPLayers(LayerStack):
    """The MLP preset of the layer stack: ``[Dense(h), activation, (Dropout)] * n_hidden + [Dense(n_outputs)]``,
    initialised as scikit-learn does (Glorot uniform on weights *and* biases, ``r = sqrt(f / (fan_in + fan_out))``
    with ``f = 2`` for logistic units and 6 otherwise, drawn layer by layer from the same ``RandomState`` stream, so
    a given ``random_state`` yields scikit-learn's exact initial weights; ``fastnn.estimators.stack``)."""

    _arch_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu", "leaky_relu"})],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    }

    def _dense_init(self):
        return "glorot_logistic" if self.activation == "logistic" else "glorot"

    def _hidden_layers(self, input_shape):
        layers = []
        for size in self._hidden_sizes():
            layers += [Dense(size, init=self._dense_init()), ACTIVATIONS[self.activation]()]
            if self.dropout:
                layers.append(Dropout(self.dropout))
        return layers

    def _output_layer(self, n_outputs):
        return Dense(n_outputs, init=self._dense_init())


# ---------------------------------------------------------------------------------------------- classifier head
class NeuralNetClassifierHead(ClassifierMixin, BaseNeuralNetwork):
    """Classification on top of ``BaseNeuralNetwork``: labels via ``LabelBinarizer`` (multiclass -> softmax over
    ``n_classes`` outputs; binary -> one logistic output; multi-label indicator -> one logistic output per
    label), ``class_weight``, ``predict``/``predict_proba``/``predict_log_proba``, ``partial_fit(classes=)``."""

    _head_constraints = {"class_weight": [dict, StrOptions({"balanced"}), None]}

    def _validate_fit_data(self, X, y, sample_weight, incremental, first_pass, classes):
        dtype = self._np_dtype
        if incremental and _check_partial_fit_first_call(self, classes):
            multilabel = type_of_target(y).startswith("multilabel")
            if not multilabel and len(self.classes_) < 2:
                raise ValueError(
                    f"partial_fit needs at least 2 classes in `classes`, got {list(classes)}; pass every label "
                    "the model should predict on the first call."
                )
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if multilabel else classes)
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True, dtype=dtype, order="C", reset=first_pass
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        # 1-D integer (or bool) labels are always a valid binary/multiclass target: skip the type_of_target pass
        integer_labels = y.ndim == 1 and y.dtype.kind in "iub"
        if not integer_labels:
            check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
            if self._label_binarizer.y_type_ != "multilabel-indicator" and len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes to learn from, but y holds only one "
                    f"class ({self.classes_.tolist()[0]!r}); check the labels, or use partial_fit(X, y, classes=[...]) "
                    "to declare all classes up front."
                )
        elif not self.warm_start and integer_labels and self._labels_within_classes(y):
            pass  # every label is a known class: the check below would find none unseen (and costs ~0.2 ms)
        else:
            found = unique_labels(y)
            if self.warm_start:
                if set(found) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the previous call to "
                        f"fit. Previously got {self.classes_}, `y` has {found}"
                    )
            elif len(np.setdiff1d(found, self.classes_, assume_unique=True)):
                unseen = np.setdiff1d(found, self.classes_, assume_unique=True)
                raise ValueError(
                    f"`y` has classes not in `self.classes_`: {unseen.tolist()}. `self.classes_` has {self.classes_}. "
                    "partial_fit can only learn the classes declared in the first call's classes=...; refit "
                    "from scratch with all labels in classes=, or drop the samples with unknown labels."
                )
        if sample_weight is not None:
            sample_weight = self._validate_sample_weight(sample_weight, X)
        if self.class_weight is not None:
            if incremental and self.class_weight == "balanced":
                raise ValueError(
                    "class_weight 'balanced' is not supported for partial_fit: the class frequencies of the whole "
                    "data set are unknown. Pass a dict of class weights instead."
                )
            cw = compute_sample_weight(self.class_weight, y).astype(dtype)
            sample_weight = cw if sample_weight is None else sample_weight * cw
        if self._label_binarizer.y_type_ == "multiclass":
            # Integer class codes for the fused softmax-CE: ``classes_`` is sorted and holds every label of y
            # (checked above), so searchsorted finds each label's index without building the one-hot matrix.
            Y = np.ascontiguousarray(np.searchsorted(self._label_binarizer.classes_, y), dtype=np.intp)
            stratify = Y
        else:
            Y = np.ascontiguousarray(self._label_binarizer.transform(y), dtype=dtype)
            stratify = Y[:, 0] if Y.shape[1] == 1 else None
        return X, Y, sample_weight, stratify

    def _labels_within_classes(self, y):
        """Whether every integer label in ``y`` is one of the (sorted, integer) ``classes_``, by binary search."""
        classes = self.classes_
        if classes.dtype.kind not in "iub" or not len(classes) or self._label_binarizer.y_type_ not in (
            "binary", "multiclass"
        ):
            return False
        idx = np.searchsorted(classes, y)
        np.minimum(idx, len(classes) - 1, out=idx)
        return bool(np.array_equal(classes[idx], y))

    def _encode_targets(self, y):
        """Validation labels ``y_val`` encoded as ``_validate_fit_data`` encodes ``y`` (class codes for multiclass,
        indicator columns otherwise), without changing the fitted classes."""
        lb = self._label_binarizer
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1 and lb.y_type_ != "multilabel-indicator":
            y = y.ravel()
        if lb.y_type_ == "multilabel-indicator":
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError(f"y_val must be an indicator matrix with {len(self.classes_)} columns, as y; got shape {y.shape}.")
        else:
            unseen = np.setdiff1d(unique_labels(y), self.classes_)
            if len(unseen):
                raise ValueError(
                    f"y_val has labels not seen in y: {unseen.tolist()}; the model knows {self.classes_.tolist()}."
                )
            if lb.y_type_ == "multiclass":
                return np.ascontiguousarray(np.searchsorted(self.classes_, y), dtype=np.intp)
        return np.ascontiguousarray(lb.transform(y), dtype=self._np_dtype)

    def _decode_targets(self, Y):
        """Encoded targets back to labels, as ``predict`` returns them."""
        if Y.ndim == 1:
            return self.classes_[Y]
        return self._label_binarizer.inverse_transform(Y.ravel() if Y.shape[1] == 1 else Y)

    def _output_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _n_logits(self):
        return len(self.classes_)

    def _validation_score(self, logits, Y, sample_weight):
        """Accuracy (subset accuracy for multi-label) of the logits against encoded targets."""
        if Y.ndim == 1:
            correct = np.argmax(logits, axis=1) == Y
        else:
            correct = np.all((logits > 0) == (Y > 0.5), axis=1)
        return float(np.average(correct, weights=sample_weight))

    def _proba(self, X):
        """float64 probabilities (softmax rows, or independent logistic outputs) through the loss's output link.
        An infinite logit (an input so large that the network overflows) keeps its limit probability; a NaN logit
        (inf - inf inside the network) has no limit and raises."""
        net = self._network()
        p, nan_row = net.loss.output_checked(net.logits(self._check_input(X)))
        if nan_row >= 0:
            n_nan = int(np.isnan(p).any(axis=1).sum())
            raise ValueError(
                f"{type(self).__name__}: the network output is NaN for {n_nan} sample(s) (first: row {nan_row}), "
                f"whose features are too large for dtype={np.dtype(self._np_dtype).name}; scale the inputs as "
                "during fit (e.g. StandardScaler) or use dtype='float64'."
            )
        return p

    def predict(self, X):
        """Predicted classes: ``(n_samples,)``, or the indicator matrix ``(n_samples, n_labels)`` for
        multi-label targets."""
        self._check_fitted()
        p = self._proba(X)
        if self.n_outputs_ == 1:
            p = p.ravel()
        return self._label_binarizer.inverse_transform(p)

    def predict_proba(self, X):
        """Class probabilities ``(n_samples, n_classes)`` in float64, ordered as ``classes_`` (binary: the
        columns ``[1 - p, p]``; multi-label: independent per-label probabilities, rows need not sum to 1)."""
        self._check_fitted()
        p = self._proba(X)
        if self.n_outputs_ == 1:
            p = p.ravel()
            return np.vstack([1 - p, p]).T
        return p

    def predict_log_proba(self, X):
        """``log(predict_proba(X))`` exactly (scikit-learn's contract), ``-inf`` where a probability underflows
        to 0, without a divide-by-zero warning."""
        p = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(p, out=p)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Fit to ``X (n_samples, n_features)`` (dense or CSR/CSC) and labels ``y`` (``(n_samples,)`` or a
        multi-label indicator matrix), optionally with ``sample_weight (n_samples,)``. With
        ``early_stopping=True``, ``X_val``, ``y_val`` (and ``sample_weight_val``) are the validation set, in place
        of the ``validation_fraction`` split."""
        validation = None if X_val is None and y_val is None and sample_weight_val is None else (
            X_val, y_val, sample_weight_val)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, validation=validation)

    @available_if(_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``, keeping the optimizer state; ``classes`` (all labels) is required on the
        first call and a batch may contain any subset of them."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, classes=classes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags


# ---------------------------------------------------------------------------------------------- regressor head
class NeuralNetRegressorHead(RegressorMixin, BaseNeuralNetwork):
    """Regression on top of ``BaseNeuralNetwork``: ``loss='squared_error'``, ``'absolute_error'`` or ``'huber'``
    (threshold ``huber_delta``), all with identity output, or ``'poisson'`` (log link, ``out_activation_ = 'exp'``);
    single or multiple outputs."""

    _head_constraints = {
        "loss": [StrOptions({"squared_error", "poisson", "absolute_error", "huber"})],
        "huber_delta": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def _make_loss(self):
        if self.loss == "huber":
            return HuberLoss(float(self.huber_delta))
        return LOSSES[self.loss]()

    def _validate_fit_data(self, X, y, sample_weight, incremental, first_pass, classes):
        dtype = self._np_dtype
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True, dtype=dtype, order="C",
            reset=first_pass,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("loss='poisson' requires non-negative targets y (counts or rates); got negative values.")
        if sample_weight is not None:
            sample_weight = self._validate_sample_weight(sample_weight, X)
        Y = np.ascontiguousarray(y.reshape(y.shape[0], -1), dtype=dtype)
        if not first_pass and Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, the model was fitted with {self.n_outputs_}.")
        return X, Y, sample_weight, None

    def _encode_targets(self, y):
        """Validation targets ``y_val`` as ``(n_val, n_outputs)`` in the model's dtype."""
        y = check_array(y, ensure_2d=False, dtype=self._np_dtype, input_name="y_val")
        Y = np.ascontiguousarray(y.reshape(y.shape[0], -1))
        if Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y_val has {Y.shape[1]} outputs, y has {self.n_outputs_}.")
        if self.loss == "poisson" and np.any(Y < 0):
            raise ValueError("loss='poisson' requires non-negative targets; y_val has negative values.")
        return Y

    def _decode_targets(self, Y):
        return Y.ravel() if Y.shape[1] == 1 else Y

    def _output_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _reported_loss_scale(self):
        return 1.0 / self.n_outputs_ if self.loss == "squared_error" else 1.0

    def _validation_score(self, logits, Y, sample_weight):
        from sklearn.metrics import r2_score  # imported here: only early stopping needs it, and it costs ~0.1 s

        return float(r2_score(Y, self._network().loss.output(logits), sample_weight=sample_weight))

    def predict(self, X):
        """Predictions ``(n_samples,)`` or ``(n_samples, n_outputs)``, float64."""
        self._check_fitted()
        net = self._network()
        pred = net.loss.output(net.logits(self._check_input(X)))
        return pred.ravel() if pred.shape[1] == 1 else pred

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Fit to ``X (n_samples, n_features)`` (dense or CSR/CSC) and targets ``y`` ``(n_samples,)`` or
        ``(n_samples, n_outputs)``, optionally with ``sample_weight (n_samples,)``. With ``early_stopping=True``,
        ``X_val``, ``y_val`` (and ``sample_weight_val``) are the validation set, in place of the
        ``validation_fraction`` split."""
        validation = None if X_val is None and y_val is None and sample_weight_val is None else (
            X_val, y_val, sample_weight_val)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, validation=validation)

    @available_if(_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, keeping the optimizer state."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        if self.loss == "poisson":
            tags.target_tags.positive_only = True
        return tags


# ---------------------------------------------------------------------------------------------- the estimators
class MLPClassifier(LayerFeatures, ModelSummary, _MLPLayers, NeuralNetClassifierHead):
    """Multi-layer perceptron classifier, a drop-in for ``sklearn.neural_network.MLPClassifier``.

    Minimises the (weighted) cross-entropy ``sum_i w_i l_i / sum_i w_i + 0.5 * alpha * sum ||W||^2 / sum_i w_i``
    per mini-batch (whole set for ``lbfgs``), softmax outputs for multiclass, one logistic output for binary and
    one per label for multi-label indicator targets.

    Parameters are scikit-learn 1.9's, same defaults and meaning, plus:

    dtype : {np.float32, np.float64, 'float32', 'float64'}, default=np.float32
        Precision of the computation (inputs are converted once per fit; probabilities are float64).
    dropout : float in [0, 1), default=0.0
        Inverted-dropout rate after each hidden layer while training.
    class_weight : dict, 'balanced' or None, default=None
        Multiplies ``sample_weight`` by the weight of each sample's class (``'balanced'``:
        ``n_samples / (n_classes * bincount(y))``; not available in ``partial_fit``).
    weight_decay : float, default=0.01
        Decoupled weight decay of ``solver='adamw'`` (``p -= lr * weight_decay * p``, all parameters).
    progress_bar : bool, default=False
        Show a tqdm bar over the epochs of a mini-batch fit (training loss, validation score, time); needs
        ``tqdm`` (the ``progress`` extra). ``verbose`` keeps scikit-learn's meaning and prints above the bar.
    fused : {'auto', True, False}, default='auto'
        How mini-batch epochs and predictions run: as one compiled kernel call (True), layer by layer (False), or
        ``'auto'``: fused once that kernel is compiled or cached (``fastnn.warmup()``), or when the fit is long
        enough to repay compiling it. Both give bit-identical results; only the time differs.
    scoring : str, callable or None, default=None
        What early stopping watches on the validation set, higher is better: None is accuracy (as scikit-learn's
        MLP), ``'loss'`` minus the validation loss, any other string a scikit-learn scorer name (e.g.
        ``'neg_log_loss'``, ``'balanced_accuracy'``) and a callable ``scorer(estimator, X, y)``.
        ``validation_scores_`` and ``best_validation_score_`` are on that scale. The validation set is
        ``fit(..., X_val=, y_val=, sample_weight_val=)`` when given, else a ``validation_fraction`` split.
    transform_layer : int or None, default=None
        The layer whose outputs ``transform`` returns (float64 features for a second model): None is the last
        hidden layer, an int indexes the layer list of ``summary()`` (-1: the output logits). Fit ignores it.

    ``set_callbacks(*callbacks)`` (scikit-learn >= 1.9) takes ``sklearn.callback`` callbacks (``ProgressBar``,
    ``ScoringMonitor``, your own): the fit is the root task and each epoch (each L-BFGS iteration) a subtask; an
    ``on_fit_task_end`` returning True stops the fit after that epoch (with early stopping, the best weights are
    restored).

    ``activation`` also accepts ``'leaky_relu'`` (slope 0.01) and ``solver`` also ``'adagrad'``, ``'rmsprop'``
    (rho 0.9) and ``'adamw'`` (all with ``epsilon``). ``learning_rate`` 'invscaling' and 'adaptive' apply to
    ``'sgd'`` only, as in scikit-learn; ``'cosine'`` and ``'plateau'`` apply to every mini-batch solver (see
    ``fastnn.optimizers.EpochSchedule``), and ``learning_rate_curve_`` records the rate of each epoch. With ``early_stopping=True``, ``validation_loss_curve_`` records the validation loss
    (data term, scaled like ``loss_curve_``) next to ``validation_scores_``.
    """

    _parameter_constraints = {
        **BaseNeuralNetwork._parameter_constraints,
        **_MLPLayers._arch_constraints,
        **NeuralNetClassifierHead._head_constraints,
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        scoring=None,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=np.float32,
        dropout=0.0,
        class_weight=None,
        weight_decay=0.01,
        progress_bar=False,
        fused="auto",
        transform_layer=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.scoring = scoring
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.dropout = dropout
        self.class_weight = class_weight
        self.weight_decay = weight_decay
        self.progress_bar = progress_bar
        self.fused = fused
        self.transform_layer = transform_layer


class MLPRegressor(LayerFeatures, ModelSummary, _MLPLayers, NeuralNetRegressorHead):
    """Multi-layer perceptron regressor, a drop-in for ``sklearn.neural_network.MLPRegressor``.

    ``loss='squared_error'`` minimises ``0.5 * sum_k (f_k(x) - y_k)^2`` per sample (the reported ``loss_`` and
    ``loss_curve_`` average it over outputs, as scikit-learn reports it); ``loss='poisson'`` the Poisson deviance
    with a log link (``out_activation_ = 'exp'``). Same extras as ``MLPClassifier`` except ``class_weight``
    (``scoring=None`` is R^2 here), and two robust losses (identity output; ``loss_`` summed over outputs):

    - ``loss='absolute_error'``: ``sum_k |f_k(x) - y_k|`` (fits the conditional median); at a zero residual the
      subgradient 0 is used;
    - ``loss='huber'``: ``sum_k h(f_k(x) - y_k)`` with ``h(r) = 0.5 r^2`` for ``|r| <= huber_delta`` and
      ``huber_delta * (|r| - 0.5 huber_delta)`` beyond, so an outlier pulls with a force of at most ``huber_delta``.
      ``huber_delta`` (default 1.0) is in the units of ``y``; scale ``y`` accordingly. (``epsilon`` stays Adam's.)
    """

    _parameter_constraints = {
        **BaseNeuralNetwork._parameter_constraints,
        **_MLPLayers._arch_constraints,
        **NeuralNetRegressorHead._head_constraints,
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        huber_delta=1.0,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        scoring=None,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=np.float32,
        dropout=0.0,
        weight_decay=0.01,
        progress_bar=False,
        fused="auto",
        transform_layer=None,
    ):
        self.loss = loss
        self.huber_delta = huber_delta
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.scoring = scoring
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.progress_bar = progress_bar
        self.fused = fused
        self.transform_layer = transform_layer
