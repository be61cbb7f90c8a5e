"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor`` (drop-in for ``sklearn.neural_network``).

Same parameters, defaults, fitted attributes and semantics as scikit-learn 1.9's MLPs (see the parity notes in
each class), computed in ``float32`` by default, with extras: ``activation='leaky_relu'``, solvers
``adagrad``/``rmsprop``/``adamw``, ``dropout``, ``class_weight``, ``validation_loss_curve_``, failure-safe
``fit``/``partial_fit`` and array-only pickles. The scikit-learn machinery lives in ``fastnn.estimators.base``,
``.classifier`` and ``.regressor``, the solver loops in ``fastnn.training``; this module only names the layer
stack (``fastnn.estimators.stack.DenseLayers``).
"""
import numpy as np

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
class MLPClassifier(LayerFeatures, ModelSummary, _MLPLayers, ClassifierBase):
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
        ``'auto'``: fused once that kernel is compiled or cached. On a cache miss, a background process compiles it
        into the cache while the fit runs layer by layer, and the fit switches when it lands (once per machine;
        off with ``FASTNN_BACKGROUND_COMPILE=0`` or ``fastnn.set_background_compile(False)``, then fused only when
        the fit is long enough to repay compiling it; ``fastnn.warmup()`` compiles it ahead of time). Both paths
        give bit-identical results; only the time differs. ``_net.fused_epochs`` counts the fused epochs.
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


class MLPRegressor(LayerFeatures, ModelSummary, _MLPLayers, RegressorBase):
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
