"""``CNNClassifier``: a convolutional network with the scikit-learn face of ``MLPClassifier``.

It shares the whole training machinery (solvers, schedules, early stopping, warm_start, partial_fit,
sample_weight, class_weight, dtype, failure-safe fits, array-only pickles) with the MLPs and, as a preset of
``fastnn.NeuralNetClassifier``, only supplies the layer list (``fastnn.estimators.stack``) and the image shape
(``fastnn.estimators.shapes``): for each ``(filters, kernel_size)`` in ``conv_layers`` a 'same' ``Conv2D``, the activation and a
``pool_size`` ``MaxPool2D``; then ``Flatten``, the ``hidden_layer_sizes`` dense layers and the output layer.
"""
import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

from ..layers import ACTIVATIONS, Conv2D, Flatten, MaxPool2D
from ._docs import CLASSIFIER_ATTRIBUTES, SHAPED, document
from .classifier import ClassifierBase
from .params import TRAINING_CONSTRAINTS
from .features import LayerFeatures
from .summary import ModelSummary
from .shapes import ShapedInput
from .stack import DenseLayers


@document(
    CLASSIFIER_ATTRIBUTES + SHAPED,
    conv_layers=(
        "sequence of (filters, kernel_size)",
        "One convolution per pair, input side first: ``filters`` output channels, a square ``kernel_size`` window "
        "(odd, since 'same' padding keeps the spatial size), each followed by ``activation`` and max pooling.",
    ),
    pool_size=(
        "int >= 1",
        "Window and stride of the max pooling after each convolution; 1 disables pooling. Along a dimension "
        "already smaller than ``pool_size`` the window shrinks to it (so ``1 x 1 x n`` inputs pool along ``n``).",
    ),
    hidden_layer_sizes=(
        "array-like of int, or int",
        "Units of each hidden dense layer between the flattened convolution output and the output layer; ``()`` "
        "(the default) connects the convolutions to the output layer directly.",
    ),
    input_shape=(
        "(C, H, W) or None",
        "Shape of one image. None takes it from 4-D ``X`` ``(n_samples, C, H, W)``; for rows ``X`` with a square "
        "number of features, a single-channel square image; otherwise ``(1, 1, n_features)``, a 1-D signal.",
    ),
    coefs_=(
        "list of ndarray",
        "The weights of each convolution ``(filters, C, kh, kw)``, then of each dense layer ``(fan_in, fan_out)``, "
        "in the estimator's ``dtype``; views of the fitted network's parameters.",
    ),
    intercepts_=(
        "list of ndarray",
        "The biases of each convolution ``(filters,)`` and dense layer ``(fan_out,)``, in the order of ``coefs_``.",
    ),
)
class CNNClassifier(LayerFeatures, ModelSummary, DenseLayers, ShapedInput, ClassifierBase):
    """Convolutional neural-network classifier for images given as rows of pixels or as ``(N, C, H, W)``.

    The network, for images ``(C, H, W)``::

        [Conv2D(filters, k, padding='same') -> activation -> MaxPool2D(pool_size)] for (filters, k) in conv_layers
        -> Flatten -> [Dense(h) -> activation (-> Dropout)] for h in hidden_layer_sizes -> Dense(n_outputs)

    trained on the cross-entropy as ``MLPClassifier`` trains its network, with the same solvers, schedules, early
    stopping, ``warm_start``, ``partial_fit``, ``sample_weight``, ``class_weight``, ``dtype``, failure-safe fits
    and array-only pickles. Convolutions start from He-uniform weights (``U(-r, r)``, ``r = sqrt(6 / fan_in)``,
    ``fan_in = C * k * k``) and zero biases, the dense layers from Glorot-uniform ones, as the MLPs.
    ``fit``'s ``X_val`` (early stopping's validation set) takes rows or images, as ``X`` does.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    NeuralNetClassifier : Any stack of layers (e.g. with ``BatchNorm`` or strided convolutions); this class is a
        preset of it.
    MLPClassifier : Dense layers only; its Notes give the objective and the control over a fit.
    fastnn.layers.Conv2D : The convolution layer, with its shapes and output size.

    Notes
    -----
    A convolution runs as im2col plus one matrix product per chunk of samples (channels-last columns once the
    input has many channels); a layer splits its batch over threads, up to the BLAS thread setting, and holds BLAS
    itself at one thread meanwhile. A network with convolutions trains layer by layer; ``fused`` chooses how its
    predictions run (channels last through each conv stack, or layer by layer: see ``fused``).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from fastnn import CNNClassifier
    >>> X, y = load_digits(return_X_y=True)  # 8 x 8 images as rows of 64 pixels
    >>> X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    >>> clf = CNNClassifier(conv_layers=((8, 3),), learning_rate_init=0.01, early_stopping=True, n_iter_no_change=3,
    ...                     random_state=0)
    >>> clf.fit(X_train, y_train).input_shape_
    (1, 8, 8)
    >>> [coef.shape for coef in clf.coefs_]  # 8 filters of 3 x 3, then 8 x 4 x 4 pooled features to 10 classes
    [(8, 1, 3, 3), (128, 10)]
    >>> bool(clf.score(X_test, y_test) > 0.9)
    True
    """

    _parameter_constraints = {
        **TRAINING_CONSTRAINTS,
        **DenseLayers._arch_constraints,
        **ClassifierBase._target_constraints,
        "conv_layers": ["array-like"],
        "pool_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "input_shape": ["array-like", None],
    }

    def __init__(
        self,
        conv_layers=((16, 3), (32, 3)),
        pool_size=2,
        hidden_layer_sizes=(),
        activation="relu",
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
        self.conv_layers = conv_layers
        self.pool_size = pool_size
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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

    _X_shape_hint = "(n_samples, C*H*W) rows or (n_samples, C, H, W) images"

    _declared_ndim = 3
    _sample_word = "images"

    def _default_input_shape(self, n_features):
        """A single-channel square image for a square number of features, else a ``1 x 1 x n`` signal."""
        side = int(round(np.sqrt(n_features)))
        return (1, side, side) if side * side == n_features and n_features > 0 else (1, 1, n_features)

    # ------------------------------------------------------------------ architecture
    def _conv_specs(self):
        specs = []
        for spec in self.conv_layers:
            try:
                filters, kernel = (int(v) for v in spec)
            except (TypeError, ValueError):
                raise ValueError(f"conv_layers entries must be (filters, kernel_size) pairs, got {spec!r}.") from None
            if filters < 1 or kernel < 1 or kernel % 2 == 0:
                raise ValueError(
                    f"conv_layers entry {spec!r}: filters must be >= 1 and kernel_size a positive odd number "
                    "('same' padding)."
                )
            specs.append((filters, kernel))
        return specs

    def _hidden_layers(self, input_shape):
        _, H, W = input_shape
        act = ACTIVATIONS[self.activation]
        layers = []
        for filters, kernel in self._conv_specs():
            layers += [Conv2D(filters, kernel, padding="same"), act()]
            pool = (min(self.pool_size, H), min(self.pool_size, W))
            if pool != (1, 1):
                layers.append(MaxPool2D(pool))
                H, W = (H - pool[0]) // pool[0] + 1, (W - pool[1]) // pool[1] + 1
        return layers + [Flatten()] + self._dense_layers()
