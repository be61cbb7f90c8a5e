"""The estimators' docstrings, composed from one text per constructor parameter and per fitted attribute.

Five estimators share about thirty parameters and a dozen fitted attributes; their descriptions live here once.
Each estimator class writes its own summary, See Also, Notes and Examples, and puts a line ``{parameters}`` under
its Parameters heading and ``{attributes}`` under its Attributes heading; ``document`` replaces them when the class
is defined, so ``help()``, numpydoc and Sphinx all read the full text from ``__doc__``.

The Parameters section follows the order of the class's ``__init__`` signature and reads each default from it, so
the documented defaults are the real ones. A parameter without a text (here, or given to ``document`` for one
class), or a text given for a name the class does not have, fails at import.
"""
import inspect
import re
import textwrap

import numpy as np

#: Constructor parameter -> (type, description), for every parameter that two or more estimators share.
PARAMETERS = {
    "hidden_layer_sizes": (
        "array-like of int, or int",
        "Number of units of each hidden dense layer, input side first: ``(64, 32)`` is two hidden layers. An int is "
        "one layer; ``()`` is none.",
    ),
    "activation": (
        "{'relu', 'leaky_relu', 'tanh', 'logistic', 'identity'}",
        "Element-wise function after each hidden layer: ``'relu'`` is ``max(0, z)``; ``'leaky_relu'`` (fastnn's) "
        "``z`` for positive ``z``, else ``0.01 z``; ``'tanh'`` the hyperbolic tangent; ``'logistic'`` "
        "``1 / (1 + exp(-z))``; ``'identity'`` ``z`` itself. The dense layers start from Glorot-uniform weights "
        "and biases, ``U(-r, r)`` with ``r = sqrt(6 / (fan_in + fan_out))``, or ``sqrt(2 / ...)`` for "
        "``'logistic'``, as scikit-learn's MLP.",
    ),
    "loss": (
        "{'squared_error', 'absolute_error', 'huber', 'poisson'}",
        "What the regressor minimises (formulas in ``MLPRegressor``'s Notes): ``'squared_error'`` fits the "
        "conditional mean, "
        "``'absolute_error'`` the conditional median, ``'huber'`` is quadratic for residuals up to ``huber_delta`` and "
        "linear beyond (robust to outliers), and ``'poisson'`` is the Poisson deviance with a log link, for "
        "non-negative targets such as counts (predictions are then ``exp`` of the network output).",
    ),
    "huber_delta": (
        "float > 0",
        "Residual size at which ``loss='huber'`` turns from quadratic to linear, in the units of ``y`` (rescale it "
        "with ``y``). Other losses ignore it; it is unrelated to ``epsilon``.",
    ),
    "layers": (
        "list of fastnn.layers.Layer or None",
        "The hidden layers, in order, as templates: every fit trains deep copies of them (one per list entry), so the "
        "objects passed in are never built or changed, and ``clone`` or a search gets independent stacks. The "
        "estimator appends the output layer ``Dense(n_outputs)``. None means ``[Dense(100), ReLU()]``, the MLP's "
        "default stack. An entry that is not a layer instance raises ``ValueError``, and so does a stack that cannot "
        "take the input, naming the layer and both shapes.",
    ),
    "input_shape": (
        "tuple of int or None",
        "Shape of one sample, e.g. ``(C, H, W)``: flat rows ``(n_samples, prod(input_shape))`` are reshaped to it "
        "(as views, without copying). None takes the shape of multi-dimensional ``X`` (e.g. 4-D "
        "``(n_samples, C, H, W)``), else ``(n_features,)``.",
    ),
    "solver": (
        "{'adam', 'sgd', 'lbfgs', 'adamw', 'adagrad', 'rmsprop'}",
        "The optimiser. The mini-batch solvers step once per batch of ``batch_size`` rows: ``'adam'`` (with "
        "``beta_1``, ``beta_2``, ``epsilon``), ``'sgd'`` (with ``momentum``, ``nesterovs_momentum`` and the "
        "``learning_rate`` schedules), and fastnn's ``'adamw'`` (Adam with decoupled ``weight_decay``), "
        "``'adagrad'`` and ``'rmsprop'`` (decay 0.9), both with ``epsilon``. ``'lbfgs'`` runs SciPy's quasi-Newton "
        "L-BFGS-B on the whole training set at once; it often does well on small data sets, but has no "
        "``partial_fit``, early stopping, ``loss_curve_`` or progress bar.",
    ),
    "alpha": (
        "float >= 0",
        "Strength of the L2 penalty on the weights (biases are not penalised): a mini-batch ``B`` adds "
        "``0.5 * alpha * sum ||W||^2 / sum_B w`` to its weighted mean loss, ``w`` the sample weights (ones by "
        "default), as in scikit-learn's MLP.",
    ),
    "batch_size": (
        "int or 'auto'",
        "Rows per mini-batch; ``'auto'`` is ``min(200, n_samples)``. A value above ``n_samples`` is clipped to it "
        "with a warning. ``'lbfgs'`` ignores it.",
    ),
    "learning_rate": (
        "{'constant', 'invscaling', 'adaptive', 'cosine', 'plateau'}",
        "How the step size changes between epochs, starting at ``learning_rate_init``. ``'constant'`` keeps it. "
        "``'invscaling'`` sets it to ``learning_rate_init / (t + 1) ** power_t`` after each epoch, ``t`` the samples "
        "seen so far. ``'adaptive'`` divides it by 5 each time more than ``n_iter_no_change`` epochs in a row "
        "improve by less than ``tol``, and stops training once it is at most 1e-6. As in scikit-learn, these two "
        "apply to ``solver='sgd'`` only; the other solvers keep the rate constant. fastnn adds ``'plateau'``, "
        "the rule of ``'adaptive'`` for every mini-batch solver, and ``'cosine'``, which runs epoch ``e`` (from "
        "0) at ``learning_rate_init * (1 + cos(pi * e / max_iter)) / 2``. ``learning_rate_curve_`` records the "
        "rates; see ``fastnn.optimizers.EpochSchedule``.",
    ),
    "learning_rate_init": ("float > 0", "Initial step size of the mini-batch solvers."),
    "power_t": ("float >= 0", "Exponent of ``learning_rate='invscaling'``."),
    "max_iter": (
        "int >= 1",
        "Most epochs of a mini-batch fit (an epoch passes once over every training row), most iterations of "
        "``'lbfgs'``. A fit that reaches it before meeting ``tol`` warns with a ``ConvergenceWarning``. "
        "``partial_fit`` runs one epoch whatever its value.",
    ),
    "shuffle": ("bool", "Whether the mini-batch solvers draw a new order of the rows for every epoch."),
    "random_state": (
        "int, RandomState instance or None",
        "Seeds all the randomness of a fit: initial weights, early stopping's validation split, the order of the "
        "rows and, when there is dropout, the masks. An int makes fits reproducible; for an MLP, the same int "
        "gives the initial weights of scikit-learn's MLP.",
    ),
    "tol": (
        "float >= 0",
        "The improvement that counts. A mini-batch epoch whose training loss (with early stopping: validation "
        "score) fails to beat the best so far by ``tol`` counts towards ``n_iter_no_change``. For ``'lbfgs'``, "
        "the tolerance on the projected gradient at which it stops (SciPy's ``gtol``).",
    ),
    "verbose": (
        "bool or int",
        "Print the loss after every epoch of a mini-batch fit (and the validation score with early stopping) to "
        "standard output. ``'lbfgs'`` passes it on to SciPy, which prints nothing from SciPy 1.15 on.",
    ),
    "warm_start": (
        "bool",
        "Whether ``fit`` starts from the weights of the previous fit instead of new initial weights; the data must "
        "have the same features (and, for a classifier, the same classes). Fitted curves continue.",
    ),
    "momentum": (
        "float in [0, 1]",
        "Momentum of ``solver='sgd'``, in the velocity form ``v = momentum * v - lr * g``, ``W += v``.",
    ),
    "nesterovs_momentum": (
        "bool",
        "Whether ``solver='sgd'`` takes Nesterov's look-ahead step (when ``momentum > 0``).",
    ),
    "early_stopping": (
        "bool",
        "Whether a mini-batch fit watches a validation set: every epoch scores it (see ``scoring``), training stops "
        "once more than ``n_iter_no_change`` epochs in a row fail to beat the best score by ``tol``, and the "
        "weights of the best epoch are kept. The validation set is ``fit``'s ``X_val``, ``y_val`` (and "
        "``sample_weight_val``) when given, else a ``validation_fraction`` share of the training data (stratified "
        "for classifiers where every class allows it). Not available in ``partial_fit``; ``'lbfgs'`` ignores it.",
    ),
    "scoring": (
        "str, callable or None",
        "The validation score early stopping maximises: None is the estimator's own metric (accuracy for "
        "classifiers, subset accuracy for multi-label targets, R^2 for regressors, as scikit-learn's MLPs), "
        "``'loss'`` the validation loss negated, any other string a scikit-learn scorer name (e.g. "
        "``'neg_log_loss'``, ``'balanced_accuracy'``), and a callable is called as ``scorer(estimator, X, y)``. "
        "``validation_scores_`` and ``best_validation_score_`` are on this scale.",
    ),
    "validation_fraction": (
        "float in [0, 1)",
        "Share of the training data held out as early stopping's validation set when ``fit`` gets no ``X_val``.",
    ),
    "beta_1": ("float in [0, 1)", "Decay of the running mean of the gradients in ``'adam'`` and ``'adamw'``."),
    "beta_2": (
        "float in [0, 1)",
        "Decay of the running mean of the squared gradients in ``'adam'`` and ``'adamw'``.",
    ),
    "epsilon": (
        "float > 0",
        "Added to the denominator of the ``'adam'``, ``'adamw'``, ``'adagrad'`` and ``'rmsprop'`` steps, so that "
        "parameters with tiny gradients do not take huge steps.",
    ),
    "n_iter_no_change": (
        "int >= 1 or np.inf",
        "How many epochs in a row may fail to improve by ``tol`` (training loss, or validation score with early "
        "stopping) before a mini-batch fit stops, or lowers the rate with ``learning_rate='adaptive'`` or "
        "``'plateau'``. ``np.inf`` never stops early.",
    ),
    "max_fun": ("int >= 1", "Most loss and gradient evaluations of ``'lbfgs'``; the other solvers ignore it."),
    "dtype": (
        "{np.float32, np.float64, 'float32', 'float64'}",
        "Floating-point type of the weights and of the arithmetic. The data is converted once per fit. float32 "
        "needs half the memory and is faster; float64 follows scikit-learn's float64 results more closely. "
        "Predicted probabilities and regression outputs are float64 either way.",
    ),
    "dropout": (
        "float in [0, 1)",
        "Inverted-dropout rate after the activation of each hidden dense layer (``hidden_layer_sizes``) while "
        "training: each unit is zeroed with this probability and the others are scaled by ``1 / (1 - dropout)``; "
        "predictions use every unit. The masks come from a seed drawn from ``random_state``. 0 means no dropout.",
    ),
    "class_weight": (
        "dict, 'balanced' or None",
        "Weight of each class, multiplied into ``sample_weight``: a dict ``{label: weight}`` (unlisted classes "
        "weigh 1), or ``'balanced'``, ``n_samples / (n_classes * count(label))``, so that every class weighs the "
        "same in total. ``partial_fit`` takes a dict only: one batch does not show the class counts.",
    ),
    "weight_decay": (
        "float >= 0",
        "Decoupled weight decay of ``solver='adamw'``: besides the Adam step, every parameter shrinks by "
        "``lr * weight_decay * p`` per step, whatever its gradient. The other solvers ignore it (their penalty "
        "is ``alpha``).",
    ),
    "progress_bar": (
        "bool",
        "Show a tqdm progress bar over the epochs of a mini-batch fit, with the training loss, the validation "
        "score and the time; needs ``tqdm`` (the ``progress`` extra). ``verbose`` output prints above it.",
    ),
    "fused": (
        "{'auto', True, False}",
        "How the epochs and predictions of a stack of dense layers and activations run (an MLP without dropout, "
        "or such a ``layers`` list; other stacks always run layer by layer). ``True``: one compiled kernel call "
        "per epoch. ``False``: layer by layer. ``'auto'``: fused as soon as that kernel is compiled or in the "
        "kernel cache. On a cache miss ``'auto'`` starts a background process that compiles it into the cache "
        "while the fit goes on layer by layer, and the next epoch after it lands is fused; this happens once per "
        "machine and fastnn version. With background compiles off (``FASTNN_BACKGROUND_COMPILE=0`` or "
        "``fastnn.set_background_compile(False)``), the fit compiles the kernel itself only when its remaining "
        "epochs repay the compile. ``fastnn.warmup()`` compiles it ahead of time. Every way gives bit-identical "
        "results; only the time differs. Networks with convolutions always train layer by layer; for their "
        "predictions the setting chooses how each conv stack (a convolution and the convolutions, activations, "
        "pooling and dropout after it) runs: channels last in one pass (``True``), layer by layer (``False``), or "
        "channels last once its kernels are compiled or in the kernel cache (``'auto'``: a cold fit compiles them "
        "in its compile helper while it trains, ``fastnn.warmup()`` ahead of time; until then layer by layer, so "
        "that a prediction never waits for a compile). Both give the same values up to float rounding.",
    ),
    "transform_layer": (
        "int or None",
        "The layer whose outputs ``transform`` returns, as float64 features ``(n_samples, n_features_out)``: None "
        "is the last hidden layer, an int indexes the layer list ``summary()`` prints (negative from the end; "
        "-1 is the output layer's logits). ``fit`` ignores it, so it may be set on a fitted model and searched "
        "over.",
    ),
}

#: Fitted attribute -> (type, description).
ATTRIBUTES = {
    "classes_": (
        "ndarray of shape (n_classes,)",
        "The class labels, sorted; for multi-label indicator targets the label indices ``0, ..., n_labels - 1``.",
    ),
    "loss_": (
        "float",
        "The training loss at the end of the fit, L2 penalty included: the last epoch's mean over its mini-batches, "
        "or the final objective of ``'lbfgs'``.",
    ),
    "best_loss_": (
        "float or None",
        "The lowest value of ``loss_curve_``, which ``tol`` and ``n_iter_no_change`` compare against; None with "
        "early stopping. Mini-batch solvers only.",
    ),
    "loss_curve_": (
        "list of float",
        "``loss_`` after each epoch; ``partial_fit`` appends one value per call. Mini-batch solvers only.",
    ),
    "validation_loss_curve_": (
        "list of float",
        "The loss on the validation set after each epoch (its data term, scaled as in ``loss_curve_``); with "
        "``early_stopping=True`` only.",
    ),
    "validation_scores_": (
        "list of float or None",
        "The validation score (``scoring``) after each epoch with ``early_stopping=True``, else None. Mini-batch "
        "solvers only.",
    ),
    "best_validation_score_": (
        "float or None",
        "The best value of ``validation_scores_``, the epoch whose weights the model keeps; None without early "
        "stopping. Mini-batch solvers only.",
    ),
    "learning_rate_curve_": (
        "list of float",
        "The learning rate each epoch ran at. Mini-batch solvers only.",
    ),
    "t_": (
        "int",
        "Number of training rows the solver has stepped over, summed over epochs (0 after ``'lbfgs'``).",
    ),
    "coefs_": (
        "list of ndarray",
        "The weights of each layer with parameters, input side first: ``coefs_[i]`` of shape "
        "``(fan_in, fan_out)``, in the estimator's ``dtype``. They are views of the fitted network's parameters.",
    ),
    "intercepts_": (
        "list of ndarray",
        "The biases of each layer with parameters, ``intercepts_[i]`` of shape ``(fan_out,)``, in the order of "
        "``coefs_``.",
    ),
    "layer_state_": (
        "list of ndarray",
        "The non-trainable arrays of the stack, such as ``BatchNorm``'s running means and variances, which "
        "predictions use (so a row predicted alone gets the output it gets in a batch). Set only when a layer "
        "has such state.",
    ),
    "n_features_in_": ("int", "Number of features seen during ``fit``."),
    "feature_names_in_": (
        "ndarray of shape (``n_features_in_``,)",
        "Names of the features seen during ``fit``; set only when ``X`` has string column names (a pandas "
        "DataFrame, for example).",
    ),
    "n_iter_": ("int", "Number of epochs (``'lbfgs'``: iterations) of the last ``fit`` or ``partial_fit`` call."),
    "n_layers_": ("int", "Number of layers with parameters, plus one for the input: ``len(coefs_) + 1``."),
    "n_outputs_": (
        "int",
        "Number of network outputs: the number of classes (multiclass), 1 (binary), the number of labels "
        "(multi-label) or of targets (regression).",
    ),
    "out_activation_": (
        "str",
        "The output link: ``'softmax'`` (multiclass) or ``'logistic'`` (binary, multi-label) for classifiers, "
        "``'identity'`` or ``'exp'`` (``loss='poisson'``) for regressors.",
    ),
    "input_shape_": (
        "tuple of int",
        "Shape of one sample as the network takes it, fixed by the first fit (``input_shape``, else the shape of "
        "``X``).",
    ),
    "network_": (
        "fastnn.Sequential",
        "The fitted network behind ``coefs_`` and ``intercepts_`` (a property, rebuilt from them after "
        "unpickling), for ``summary()``, ONNX export (``fastnn.onnx``) or direct use.",
    ),
}

#: The fitted attributes of every estimator, in the order the docstrings list them.
COMMON_ATTRIBUTES = (
    "loss_", "best_loss_", "loss_curve_", "validation_scores_", "best_validation_score_", "validation_loss_curve_",
    "learning_rate_curve_", "t_", "coefs_", "intercepts_", "n_features_in_", "feature_names_in_", "n_iter_",
    "n_layers_", "n_outputs_", "out_activation_", "network_",
)
CLASSIFIER_ATTRIBUTES = ("classes_",) + COMMON_ATTRIBUTES
#: Estimators whose samples have a shape (``input_shape``) add ``input_shape_``.
SHAPED = ("input_shape_",)
#: A stack of any layers may have layer state.
STATEFUL = ("layer_state_",)

#: What ``NeuralNetClassifier`` and ``NeuralNetRegressor`` say differently: their stack is the user's ``layers``.
TEMPLATE_STACK = {
    "dropout": (
        "float in [0, 1)",
        "Inserts ``Dropout(dropout)`` after every activation layer of ``layers`` (put ``Dropout`` layers into "
        "``layers`` for other places): while training, each unit is zeroed with this probability and the others "
        "are scaled by ``1 / (1 - dropout)``; predictions use every unit. The masks come from a seed drawn from "
        "``random_state``. 0 inserts nothing.",
    ),
    "coefs_": (
        "list of ndarray",
        "The first parameter array of each layer that has parameters, input side first, in the estimator's "
        "``dtype``: the weights ``W`` of ``Dense`` ``(fan_in, fan_out)`` and of ``Conv2D`` "
        "``(filters, C, kh, kw)``, the scale ``gamma`` of ``BatchNorm``. They are views of the fitted network's "
        "parameters.",
    ),
    "intercepts_": (
        "list of ndarray",
        "The second parameter array of each such layer, in the order of ``coefs_``: the biases ``b`` of ``Dense`` "
        "and ``Conv2D``, the shift ``beta`` of ``BatchNorm``.",
    ),
}

_WIDTH = 112  # description lines, before the class docstring's own indentation


def _default(value):
    """A signature default as the docstring shows it: ``np.float32`` for the NumPy type, ``1e-8`` for ``1e-08``,
    else its repr."""
    if isinstance(value, type) and issubclass(value, np.generic):
        return f"np.{value.__name__}"
    return re.sub(r"e-0+(\d)", r"e-\1", repr(value)) if isinstance(value, float) else repr(value)


def _wrap(text):
    """``text`` wrapped to ``_WIDTH`` and indented by 4, never breaking a line inside a ``literal``."""
    parts = text.split("``")
    glued = "``".join(part.replace(" ", "\0") if i % 2 else part for i, part in enumerate(parts))
    body = textwrap.fill(glued, _WIDTH, initial_indent="    ", subsequent_indent="    ", break_on_hyphens=False,
                         break_long_words=False)
    return body.replace("\0", " ")


def _entry(name, kind, text, default=inspect.Parameter.empty):
    head = f"{name} : {kind}" if default is inspect.Parameter.empty else f"{name} : {kind}, default={_default(default)}"
    return f"{head}\n{_wrap(text)}"


def parameters_section(cls, own):
    """The entries of ``cls.__init__``'s parameters, in signature order; ``own`` overrides ``PARAMETERS``."""
    entries = []
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self":
            continue
        kind, text = own.get(name) or PARAMETERS.get(name) or (None, None)
        if text is None:
            raise KeyError(f"{cls.__name__}.__init__ has the parameter {name!r}, which has no docstring text: add it "
                           "to fastnn.estimators._docs.PARAMETERS or pass it to document().")
        entries.append(_entry(name, kind, text, param.default))
    return "\n".join(entries)


def attributes_section(names, own):
    """The entries of the fitted attributes ``names``; ``own`` overrides ``ATTRIBUTES``."""
    return "\n".join(_entry(name, *(own.get(name) or ATTRIBUTES[name])) for name in names)


def _replace_marker(doc, marker, block, owner):
    """``doc`` with the line holding only ``marker`` replaced by ``block``, indented as that line."""
    lines = doc.split("\n")
    hits = [i for i, line in enumerate(lines) if line.strip() == marker]
    if len(hits) != 1:
        raise ValueError(f"{owner}'s docstring needs exactly one line {marker!r}, found {len(hits)}.")
    indent = lines[hits[0]][: len(lines[hits[0]]) - len(lines[hits[0]].lstrip())]
    lines[hits[0] : hits[0] + 1] = [indent + line if line else "" for line in block.split("\n")]
    return "\n".join(lines)


def document(attributes, **own):
    """Class decorator: fill the ``{parameters}`` and ``{attributes}`` lines of the class docstring.

    ``attributes`` names the fitted attributes to list, in order; ``own`` maps a parameter or attribute name to the
    ``(type, description)`` this class uses instead of the shared one (or for a parameter only it has).
    """

    def fill(cls):
        unused = set(own) - set(inspect.signature(cls.__init__).parameters) - set(attributes)
        if unused:
            raise KeyError(f"document() got texts for {sorted(unused)}, which {cls.__name__} does not have.")
        doc = _replace_marker(cls.__doc__, "{parameters}", parameters_section(cls, own), cls.__name__)
        cls.__doc__ = _replace_marker(doc, "{attributes}", attributes_section(attributes, own), cls.__name__)
        return cls

    return fill
