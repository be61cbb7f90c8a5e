"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor`` (drop-in for ``sklearn.neural_network``).

Same parameters, defaults, fitted attributes and semantics as scikit-learn 1.9's MLPs (see the parity notes in
each class), computed in ``float32`` by default, with extras: ``activation='leaky_relu'``, solvers
``adagrad``/``rmsprop``/``adamw``, ``dropout``, ``class_weight``, ``validation_loss_curve_``, failure-safe
``fit``/``partial_fit`` and array-only pickles. The scikit-learn machinery lives in ``fastnn.estimators.base``,
``.classifier`` and ``.regressor``, the solver loops in ``fastnn.training``; this module only names the layer
stack (``fastnn.estimators.stack.DenseLayers``).
"""
import numpy as np

from ._docs import CLASSIFIER_ATTRIBUTES, COMMON_ATTRIBUTES, document
from .classifier import ClassifierBase
from .params import TRAINING_CONSTRAINTS
from .regressor import RegressorBase
from .stack import DenseLayers
from .features import LayerFeatures
from .summary import ModelSummary


class _MLPLayers(DenseLayers):
    """The MLP preset of the layer stack: ``[Dense(h), activation, (Dropout)] * n_hidden + [Dense(n_outputs)]``,
    initialised as scikit-learn does (Glorot uniform, drawn layer by layer from the same ``RandomState`` stream, so
    a given ``random_state`` yields scikit-learn's exact initial weights; ``fastnn.estimators.stack``)."""

    def _hidden_layers(self, input_shape):
        return self._dense_layers()


# ---------------------------------------------------------------------------------------------- the estimators
@document(CLASSIFIER_ATTRIBUTES)
class MLPClassifier(LayerFeatures, ModelSummary, _MLPLayers, ClassifierBase):
    """Multi-layer perceptron classifier, a drop-in for ``sklearn.neural_network.MLPClassifier``.

    Trains dense hidden layers (``hidden_layer_sizes`` units, ``activation`` after each) and a dense output layer
    on the weighted cross-entropy: softmax outputs for multiclass targets, one logistic output for binary targets
    and one per label for multi-label indicator targets. Parameters, defaults, fitted attributes and training
    follow scikit-learn 1.9's MLP, and a given ``random_state`` starts from the same weights; the computation runs
    in compiled kernels, in float32 by default. fastnn adds solvers (``'adamw'``, ``'adagrad'``, ``'rmsprop'``),
    schedules (``'cosine'``, ``'plateau'``), ``'leaky_relu'``, dropout, ``class_weight``, an early-stopping
    ``scoring`` and validation set, a progress bar, ``transform`` to learned features, ``summary()`` and fits that
    leave the model unchanged when they fail.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    MLPRegressor : The same network for regression.
    CNNClassifier : A convolutional network for images.
    NeuralNetClassifier : Any stack of fastnn layers; ``NeuralNetClassifier([Dense(100), ReLU()])`` is
        ``MLPClassifier()``, bit for bit.
    sklearn.neural_network.MLPClassifier : scikit-learn's, whose interface this one follows.

    Notes
    -----
    For a mini-batch ``B`` with sample weights ``w`` (ones by default), the objective is
    ``L_B = sum_{i in B} w_i l_i / sum_B w + 0.5 * alpha * sum ||W||^2 / sum_B w``, with ``l_i`` the cross-entropy
    of sample ``i`` computed from the output logits ``z_i`` (never from a rounded probability):
    ``log(sum_k exp(z_ik)) - z_ic`` for its class ``c`` (multiclass), ``sum_k log(1 + exp(z_ik)) - y_ik z_ik``
    (binary, multi-label). ``'lbfgs'`` minimises the same over the whole training set. An epoch's loss in
    ``loss_curve_`` is ``sum_B |B| L_B / n_samples``.

    The fused epoch: an MLP without dropout is a ``Dense (activation Dense)*`` stack, which one compiled kernel
    (``fastnn.kernels.mlp``) trains for a whole epoch, with every mini-batch's forward pass, loss, backward pass
    and optimizer step over one flat parameter vector, without returning to Python. It performs the arithmetic of
    the layer-by-layer path in the same order, so results are bit-identical, and saves the Python work per layer
    and per batch, which counts for small batches and many epochs; see ``fused``.

    Control over a fit: ``fit(X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None)`` takes
    early stopping's validation set. ``set_callbacks(*callbacks)`` (scikit-learn >= 1.9) takes ``sklearn.callback``
    callbacks: the fit is the root task and each epoch (each L-BFGS iteration) a subtask, and an
    ``on_fit_task_end`` returning True stops the fit after that epoch. ``fastnn.Checkpoint`` saves the model while
    it trains. Ctrl-C stops a fit with a warning and a usable model (the weights from the start of the interrupted
    epoch); a fit that fails otherwise (a loss that stops being finite, an exception) leaves the estimator exactly
    as it was before the call. Pickles hold arrays only, and loading one from another fastnn version warns.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from fastnn import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    >>> clf = MLPClassifier((64,), early_stopping=True, learning_rate_init=0.01, random_state=0)
    >>> clf.fit(X_train, y_train).predict_proba(X_test[:2]).shape
    (2, 10)
    >>> bool(clf.score(X_test, y_test) > 0.9)
    True
    >>> clf.transform(X_test).shape  # the 64 hidden units
    (450, 64)
    """

    _parameter_constraints = {
        **TRAINING_CONSTRAINTS,
        **_MLPLayers._arch_constraints,
        **ClassifierBase._target_constraints,
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


@document(COMMON_ATTRIBUTES)
class MLPRegressor(LayerFeatures, ModelSummary, _MLPLayers, RegressorBase):
    """Multi-layer perceptron regressor, a drop-in for ``sklearn.neural_network.MLPRegressor``.

    Trains dense hidden layers (``hidden_layer_sizes`` units, ``activation`` after each) and a dense output layer,
    one unit per target, on the squared error by default. Parameters, defaults, fitted attributes and training
    follow scikit-learn 1.9's MLP, and a given ``random_state`` starts from the same weights; the computation runs
    in compiled kernels, in float32 by default. fastnn adds the robust losses ``'absolute_error'`` and
    ``'huber'`` and everything ``MLPClassifier`` adds except ``class_weight``.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    MLPClassifier : The same network for classification; its Notes describe the fused epoch and the control over
        a fit, which apply here as well.
    NeuralNetRegressor : Any stack of fastnn layers; ``NeuralNetRegressor([Dense(100), ReLU()])`` is
        ``MLPRegressor()``, bit for bit.
    sklearn.neural_network.MLPRegressor : scikit-learn's, whose interface this one follows.

    Notes
    -----
    For a mini-batch ``B`` with sample weights ``w`` (ones by default), the objective is
    ``L_B = sum_{i in B} w_i l_i / sum_B w + 0.5 * alpha * sum ||W||^2 / sum_B w``, where ``l_i`` sums over the
    outputs ``k`` the loss of the residual ``r_ik = f_k(x_i) - y_ik``, ``f`` the network's output:

    - ``'squared_error'``: ``0.5 * r^2``. ``loss_`` and ``loss_curve_`` divide this data term by ``n_outputs_``,
      as scikit-learn reports it;
    - ``'absolute_error'``: ``|r|``, with the subgradient 0 at ``r = 0``;
    - ``'huber'``: ``0.5 * r^2`` for ``|r| <= huber_delta``, else ``huber_delta * (|r| - 0.5 * huber_delta)``, so
      that an outlier pulls with a force of at most ``huber_delta``;
    - ``'poisson'``: half the Poisson deviance with a log link, ``exp(z) - y z + y log(y) - y`` for the network
      output ``z = log(mu)``; ``predict`` returns ``mu = exp(z)`` and ``out_activation_`` is ``'exp'``. Targets must
      be non-negative.

    ``'lbfgs'`` minimises the same over the whole training set.

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from sklearn.model_selection import train_test_split
    >>> from fastnn import MLPRegressor
    >>> X, y = make_friedman1(n_samples=1000, random_state=0)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> reg = MLPRegressor(hidden_layer_sizes=(64,), early_stopping=True, learning_rate_init=0.01, random_state=0)
    >>> reg.fit(X_train, y_train).predict(X_test[:3]).shape
    (3,)
    >>> bool(reg.score(X_test, y_test) > 0.7)
    True
    """

    _parameter_constraints = {
        **TRAINING_CONSTRAINTS,
        **_MLPLayers._arch_constraints,
        **RegressorBase._target_constraints,
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
