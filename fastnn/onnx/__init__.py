"""Export fitted fastnn models to ONNX (needs the ``onnx`` extra: ``pip install fastnn[onnx]``).

Importing this module registers skl2onnx converters for every fastnn estimator (``MLPClassifier``,
``MLPRegressor``, ``CNNClassifier`` and any other estimator class ``fastnn`` exports), so skl2onnx converts them
alone or inside a ``Pipeline``::

    import fastnn.onnx
    onx = skl2onnx.to_onnx(model, X[:1].astype(np.float32))      # or: fastnn.onnx.to_onnx(model, X)
    sess = onnxruntime.InferenceSession(onx.SerializeToString())
    label, proba = sess.run(None, {"X": X.astype(np.float32)})

Inputs are float32 rows ``(N, n_features)`` (``CNNClassifier``: ``(N, C*H*W)`` rows or ``(N, C, H, W)`` images);
the graph computes in float32 whatever the model's ``dtype`` (a double input is cast, and its outputs are double).
Classifiers output ``label`` and ``probabilities`` (with skl2onnx's ``zipmap`` option: by default a list of
``{class: probability}`` dicts, ``zipmap=False`` a ``(N, n_classes)`` tensor, ``'columns'`` one output per
class; ``nocl=True`` gives class indices as labels), regressors ``variable`` ``(N, n_outputs)``.
The graphs use the default ONNX domain from opset ``MIN_OPSET`` (13) on; conversions use ``DEFAULT_OPSET``
(skl2onnx's newest tested opset) unless ``target_opset`` says otherwise. ``ai.onnx.ml`` is only used by ZipMap.

``network_to_onnx(net)`` exports a bare ``Sequential`` (its logits). Each layer class converts through the
dispatch table ``LAYER_CONVERTERS`` (register more with ``@converts(LayerClass)``); a layer without one raises
``NotImplementedError`` naming it.
"""
try:
    import onnx
    import skl2onnx
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"fastnn.onnx needs skl2onnx and onnx ({exc}); install them with: pip install 'fastnn[onnx]'"
    ) from exc
import numpy as np
from onnx import helper
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from .. import estimators

from ._estimators import (
    CLASSIFIER_OPTIONS, classifier_shape, convert_classifier, convert_regressor, regressor_shape,
)
from ._layers import LAYER_CONVERTERS, MIN_OPSET, check_layers, converts, network_nodes, standalone_graph

__all__ = [
    "DEFAULT_OPSET", "LAYER_CONVERTERS", "MIN_OPSET", "converts", "network_to_onnx", "register_estimator",
    "to_onnx",
]

#: The opset ``to_onnx`` and ``network_to_onnx`` target by default.
DEFAULT_OPSET = min(skl2onnx.get_latest_tested_opset_version(), onnx.defs.onnx_opset_version())


def register_estimator(estimator_class):
    """Register skl2onnx's shape calculator and converter for a fastnn estimator class.

    Importing ``fastnn.onnx`` registers every estimator class ``fastnn`` exports; a subclass of one of them (which
    skl2onnx looks up by exact class) needs this call, as a decorator or a function. The converter exports the
    fitted ``network_`` and the output link ``out_activation_``, so a subclass must predict through them.

    Parameters
    ----------
    estimator_class : type
        A classifier or regressor class built on fastnn's estimators (its fitted instances have ``network_``,
        ``out_activation_`` and ``n_outputs_``; classifiers also ``classes_``).

    Returns
    -------
    estimator_class : type
        ``estimator_class`` itself, so that the function works as a class decorator.

    Raises
    ------
    TypeError
        If ``estimator_class`` is neither a classifier nor a regressor.

    See Also
    --------
    to_onnx : Converts a fitted estimator.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from fastnn import MLPRegressor
    >>> from fastnn.onnx import register_estimator, to_onnx
    >>> @register_estimator
    ... class MyRegressor(MLPRegressor):
    ...     pass
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = MyRegressor(hidden_layer_sizes=(8,), random_state=0).partial_fit(X, y)
    >>> [output.name for output in to_onnx(reg, X).graph.output]
    ['variable']
    """
    alias = f"Fastnn{estimator_class.__name__}"
    if issubclass(estimator_class, ClassifierMixin):
        skl2onnx.update_registered_converter(
            estimator_class, alias, classifier_shape, convert_classifier, options=CLASSIFIER_OPTIONS
        )
    elif issubclass(estimator_class, RegressorMixin):
        skl2onnx.update_registered_converter(estimator_class, alias, regressor_shape, convert_regressor)
    else:
        raise TypeError(f"register_estimator: {estimator_class.__name__} is neither a classifier nor a regressor.")
    return estimator_class


def _fastnn_estimators():
    """Every estimator class ``fastnn`` exports (built on the shared network machinery)."""
    return [
        obj for obj in vars(estimators).values()
        if isinstance(obj, type) and issubclass(obj, BaseEstimator) and hasattr(obj, "network_")
        and issubclass(obj, (ClassifierMixin, RegressorMixin))
    ]


ESTIMATORS = tuple(register_estimator(cls) for cls in _fastnn_estimators())


def to_onnx(model, X, *, target_opset=None, options=None, **kwargs):
    """Convert a fitted fastnn estimator, or a pipeline ending in one, to ONNX: ``skl2onnx.to_onnx`` with float32
    input.

    The graph takes float32 rows ``(N, n_features)`` named ``"X"`` (``CNNClassifier`` also ``(N, C, H, W)``
    images) and computes in float32 whatever the model's ``dtype``. Classifiers output ``label`` and
    ``probabilities``, regressors ``variable`` ``(N, n_outputs)``; see the module docstring for the options.

    Parameters
    ----------
    model : estimator
        A fitted fastnn estimator, or a scikit-learn pipeline whose steps skl2onnx converts.
    X : array-like
        Sample input: only ``X[:1]``, converted to float32, is used to type the graph's input.
    target_opset : int or None, default=None
        The ONNX opset of the default domain; None is ``DEFAULT_OPSET``. At least ``MIN_OPSET`` (13).
    options : dict or None, default=None
        skl2onnx's conversion options, e.g. ``{id(model): {'zipmap': False}}`` for a probability tensor in place
        of a list of dicts, or ``{id(model): {'nocl': True}}`` for class indices as labels.
    **kwargs
        Passed on to ``skl2onnx.to_onnx``.

    Returns
    -------
    onx : onnx.ModelProto
        The converted model; ``onx.SerializeToString()`` is what ``onnxruntime.InferenceSession`` takes.

    See Also
    --------
    network_to_onnx : Exports a bare ``Sequential``.

    Examples
    --------
    >>> import onnxruntime
    >>> from sklearn.datasets import load_digits
    >>> from fastnn import MLPClassifier
    >>> from fastnn.onnx import to_onnx
    >>> X, y = load_digits(return_X_y=True)
    >>> X = (X / 16).astype(np.float32)
    >>> clf = MLPClassifier((32,), early_stopping=True, learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> onx = to_onnx(clf, X, options={id(clf): {"zipmap": False}})
    >>> sess = onnxruntime.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    >>> labels, proba = sess.run(None, {"X": X})
    >>> proba.shape, bool(np.mean(labels == clf.predict(X)) > 0.99)
    ((1797, 10), True)
    """
    X = np.asarray(X, dtype=np.float32)[:1]
    opset = DEFAULT_OPSET if target_opset is None else target_opset
    return skl2onnx.to_onnx(model, X, target_opset=opset, options=options, **kwargs)


def network_to_onnx(net, *, target_opset=None):
    """Export a built ``Sequential`` to ONNX: a model computing its logits ``net.forward(X)``.

    The graph has the float32 input ``X`` of shape ``(N, *net.input_shape)`` and the float32 output ``logits`` of
    shape ``(N, *net.output_shape)``, before the loss's output link (softmax, sigmoid or exp); each layer converts
    through ``LAYER_CONVERTERS``.

    Parameters
    ----------
    net : fastnn.Sequential
        A built network (``net.build(...)``, or a fitted estimator's ``network_``).
    target_opset : int or None, default=None
        The ONNX opset of the default domain; None is ``DEFAULT_OPSET``. At least ``MIN_OPSET`` (13).

    Returns
    -------
    model : onnx.ModelProto
        The checked model (``onnx.checker.check_model``).

    Raises
    ------
    ValueError
        If ``net`` is not built or ``target_opset`` is below ``MIN_OPSET``.
    NotImplementedError
        If a layer has no converter (see ``converts``).

    See Also
    --------
    to_onnx : Converts a fitted estimator, output link and labels included.
    converts : Registers a converter for another layer class.

    Examples
    --------
    >>> import onnxruntime
    >>> from fastnn import Dense, ReLU, Sequential, SquaredError
    >>> from fastnn.onnx import network_to_onnx
    >>> net = Sequential([Dense(4), ReLU(), Dense(2)], SquaredError()).build((3,), np.float32, random_state=0)
    >>> model = network_to_onnx(net)
    >>> [tensor.name for tensor in model.graph.input], [tensor.name for tensor in model.graph.output]
    (['X'], ['logits'])
    >>> sess = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    >>> X = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    >>> np.allclose(sess.run(None, {"X": X})[0], net.forward(X), atol=1e-6)
    True
    """
    if not getattr(net, "built", False):
        raise ValueError("network_to_onnx needs a built network: call net.build(input_shape) or fit it first.")
    opset = DEFAULT_OPSET if target_opset is None else int(target_opset)
    if opset < MIN_OPSET:
        raise ValueError(f"fastnn.onnx needs target_opset >= {MIN_OPSET}, got {opset}.")
    graph = standalone_graph(np.float32)
    x, out = graph.unique("X"), graph.unique("logits")
    z = network_nodes(graph, net, x)
    graph.node("Identity", [z], "logits", out=out)
    proto = helper.make_graph(
        graph.nodes, "fastnn_Sequential",
        [helper.make_tensor_value_info(x, graph.onnx_type, [None, *net.input_shape])],
        [helper.make_tensor_value_info(out, graph.onnx_type, [None, *net.output_shape])],
        initializer=graph.initializers,
    )
    model = helper.make_model(proto, opset_imports=[helper.make_opsetid("", opset)], producer_name="fastnn")
    onnx.checker.check_model(model)
    return model
