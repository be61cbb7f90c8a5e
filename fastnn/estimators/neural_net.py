"""``NeuralNetClassifier`` and ``NeuralNetRegressor``: any stack of fastnn layers behind the scikit-learn face of
``MLPClassifier`` / ``MLPRegressor`` (same training parameters, fitted attributes, ``partial_fit``, ``warm_start``,
early stopping, failure-safe fits, pickling).

``layers`` is the list of *hidden* layers, as fastnn layer objects; the estimator appends ``Dense(n_outputs)`` and
the loss ``y`` calls for (softmax / sigmoid cross-entropy; for regression the ``loss`` parameter). The objects are
*templates*: a fit builds and trains deep copies of them (one independent copy per list entry), so the user's
objects are never built, trained or shared between estimators, ``clone`` gives independent stacks and
``GridSearchCV`` can search over several stacks in parallel.

Pickles. The fitted model is pickled as arrays only, as for the MLPs: ``coefs_`` / ``intercepts_`` (the two
parameter arrays of every layer that has parameters: ``W``/``b`` of ``Dense`` and ``Conv2D``, ``gamma``/``beta`` of
``BatchNorm``), ``layer_state_`` (``BatchNorm``'s running mean and variance), the optimizer state; the network is
rebuilt from them on first use. The hyperparameter ``layers`` itself is pickled as what the user passed: a list of
unbuilt layer templates (a few numbers each: sizes, kernel shapes, rates), like any scikit-learn hyperparameter
object; they hold no arrays, no network and no compiled code.
"""
import copy

import numpy as np

from ..layers import Activation, Dense, Dropout, Layer, ReLU
from ._docs import CLASSIFIER_ATTRIBUTES, COMMON_ATTRIBUTES, SHAPED, STATEFUL, TEMPLATE_STACK, document
from .classifier import ClassifierBase
from .params import TRAINING_CONSTRAINTS
from .regressor import RegressorBase
from .features import LayerFeatures
from .summary import ModelSummary
from .shapes import ShapedInput
from .stack import LayerStack


class _TemplateStack(LayerStack, ShapedInput):
    """The user's layer templates as the hidden stack; ``dropout > 0`` inserts ``Dropout(dropout)`` after every
    activation layer of it (where ``MLPClassifier`` puts it)."""

    _arch_constraints = {
        "layers": [list, tuple, None],
        "input_shape": ["array-like", None],
    }

    _X_shape_hint = "(n_samples, n_features) rows, or (n_samples, *input_shape) arrays such as (n_samples, C, H, W)"

    def _templates(self):
        """The validated template list (``None``: ``[Dense(100), ReLU()]``, the MLP's default)."""
        if self.layers is None:
            return [Dense(100), ReLU()]
        if isinstance(self.layers, Layer) or not isinstance(self.layers, (list, tuple)):
            raise ValueError(
                f"layers must be a list of fastnn layers, got {self.layers!r}; e.g. layers=[Dense(64), ReLU()]."
            )
        for i, layer in enumerate(self.layers):
            if isinstance(layer, type) and issubclass(layer, Layer):
                raise ValueError(
                    f"layers[{i}] is the class {layer.__name__}, not a layer; pass an instance, e.g. "
                    f"{layer.__name__}()."
                )
            if not isinstance(layer, Layer):
                raise ValueError(
                    f"layers[{i}] is {layer!r} (of type {type(layer).__name__}), not a fastnn layer; pass objects "
                    "from fastnn.layers such as Dense(64), ReLU(), Conv2D(16, 3), BatchNorm(), Flatten()."
                )
        return list(self.layers)

    def _check_architecture(self):
        self._templates()  # runs first in every fit: bad stacks fail before any work

    def _uses_dropout(self):
        return bool(self.dropout) or any(isinstance(layer, Dropout) for layer in self._templates())

    def _hidden_origins(self):
        """Per hidden network layer, how the user knows it: ``layers[i]``, or the inserted dropout."""
        origins = []
        for i, layer in enumerate(self._templates()):
            origins.append(f"layers[{i}]")
            if self.dropout and isinstance(layer, Activation):
                origins.append(f"the Dropout after layers[{i}]")
        return origins

    def _hidden_layers(self, input_shape):
        layers = []
        for layer in self._templates():
            layers.append(copy.deepcopy(layer))  # entry by entry: a template listed twice gives two layers
            if self.dropout and isinstance(layer, Activation):
                layers.append(Dropout(self.dropout))
        return layers

    def _describe_layer(self, index, n_layers):
        if index == n_layers - 1:
            return "the output layer that the estimator appends"
        return self._hidden_origins()[index]


@document(CLASSIFIER_ATTRIBUTES + SHAPED + STATEFUL, **TEMPLATE_STACK)
class NeuralNetClassifier(LayerFeatures, ModelSummary, _TemplateStack, ClassifierBase):
    """Neural-network classifier over any stack of fastnn layers.

    ``NeuralNetClassifier(layers=[Conv2D(16, 3, padding='same'), BatchNorm(), ReLU(), MaxPool2D(2), Flatten()],
    input_shape=(1, 8, 8))`` trains that stack followed by ``Dense(n_outputs)`` on the cross-entropy (softmax over
    the classes; one logistic output for binary and one per label for multi-label targets), exactly as
    ``MLPClassifier`` trains its own stack: the same solvers, schedules, early stopping, ``warm_start``,
    ``partial_fit``, ``sample_weight``, ``class_weight``, ``transform``, failure-safe fits and pickles.
    ``NeuralNetClassifier([Dense(100), ReLU()])`` *is* ``MLPClassifier()``, bit for bit.

    Initialisation: ``Dense`` and ``Conv2D`` weights are drawn from ``random_state`` by each layer's rule
    (``Dense``: Glorot uniform by default, as scikit-learn; ``Conv2D``: He uniform), layer by layer in stack order;
    ``BatchNorm`` starts at ``gamma = 1``, ``beta = 0``.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    NeuralNetRegressor : The same for regression.
    MLPClassifier : The preset of dense layers; its Notes give the objective, the fused epoch and the control over
        a fit.
    CNNClassifier : The preset of convolutions, pooling and dense layers.
    fastnn.layers : The layers a stack is made of.

    Notes
    -----
    A stack of ``Dense`` layers and activations (without ``Dropout`` or other layers) trains with the fused epoch
    of ``MLPClassifier`` (see ``fused``); every other stack trains layer by layer. The ``layers`` templates are
    pickled as given (a few numbers each, no arrays); the fitted model is pickled as ``coefs_``,
    ``intercepts_``, ``layer_state_`` and the optimizer state, and the network is rebuilt from them on first use.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from fastnn import BatchNorm, Dense, NeuralNetClassifier, ReLU
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    >>> clf = NeuralNetClassifier([Dense(64), BatchNorm(), ReLU()], early_stopping=True, learning_rate_init=0.01,
    ...                           random_state=0)
    >>> [coef.shape for coef in clf.fit(X_train, y_train).coefs_]  # Dense W, BatchNorm gamma, output W
    [(64, 64), (64,), (64, 10)]
    >>> [state.shape for state in clf.layer_state_]  # BatchNorm's running mean and variance
    [(64,), (64,)]
    >>> bool(clf.score(X_test, y_test) > 0.9)
    True
    """

    _parameter_constraints = {
        **TRAINING_CONSTRAINTS,
        **_TemplateStack._arch_constraints,
        **ClassifierBase._target_constraints,
    }

    def __init__(
        self,
        layers=None,
        *,
        input_shape=None,
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
        self.layers = layers
        self.input_shape = input_shape
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


@document(COMMON_ATTRIBUTES + SHAPED + STATEFUL, **TEMPLATE_STACK)
class NeuralNetRegressor(LayerFeatures, ModelSummary, _TemplateStack, RegressorBase):
    """Neural-network regressor over any stack of fastnn layers: ``layers`` followed by ``Dense(n_outputs)``.

    Trains the stack on ``loss`` exactly as ``MLPRegressor`` trains its own, with the same solvers, schedules,
    early stopping, ``warm_start``, ``partial_fit``, ``sample_weight``, ``transform``, failure-safe fits and
    pickles. ``NeuralNetRegressor([Dense(100), ReLU()])`` *is* ``MLPRegressor()``, bit for bit. The layers are
    initialised as in ``NeuralNetClassifier``.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    NeuralNetClassifier : The same for classification; its Notes say which stacks train fused and what is pickled.
    MLPRegressor : The preset of dense layers; its Notes give the losses' formulas.
    fastnn.layers : The layers a stack is made of.

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from sklearn.model_selection import train_test_split
    >>> from fastnn import Dense, NeuralNetRegressor, ReLU
    >>> X, y = make_friedman1(n_samples=1000, random_state=0)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> reg = NeuralNetRegressor([Dense(64), ReLU()], loss="huber", early_stopping=True, learning_rate_init=0.01,
    ...                          random_state=0)
    >>> reg.fit(X_train, y_train).predict(X_test[:3]).shape
    (3,)
    >>> bool(reg.score(X_test, y_test) > 0.7)
    True
    """

    _parameter_constraints = {
        **TRAINING_CONSTRAINTS,
        **_TemplateStack._arch_constraints,
        **RegressorBase._target_constraints,
    }

    def __init__(
        self,
        layers=None,
        *,
        loss="squared_error",
        huber_delta=1.0,
        input_shape=None,
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
        self.layers = layers
        self.loss = loss
        self.huber_delta = huber_delta
        self.input_shape = input_shape
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
