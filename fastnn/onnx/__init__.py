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


def register_estimator(cls):
    """Register skl2onnx's shape calculator and converter for a fastnn estimator class (a classifier or a
    regressor whose fitted instances have ``network_`` and ``out_activation_``); returns ``cls``."""
    alias = f"Fastnn{cls.__name__}"
    if issubclass(cls, ClassifierMixin):
        skl2onnx.update_registered_converter(
            cls, alias, classifier_shape, convert_classifier, options=CLASSIFIER_OPTIONS
        )
    elif issubclass(cls, RegressorMixin):
        skl2onnx.update_registered_converter(cls, alias, regressor_shape, convert_regressor)
    else:
        raise TypeError(f"register_estimator: {cls.__name__} is neither a classifier nor a regressor.")
    return cls


def _fastnn_estimators():
    """Every estimator class ``fastnn`` exports (built on the shared network machinery)."""
    return [
        obj for obj in vars(estimators).values()
        if isinstance(obj, type) and issubclass(obj, BaseEstimator) and hasattr(obj, "network_")
        and issubclass(obj, (ClassifierMixin, RegressorMixin))
    ]


ESTIMATORS = tuple(register_estimator(cls) for cls in _fastnn_estimators())


def to_onnx(model, X, *, target_opset=None, options=None, **kwargs):
    """``skl2onnx.to_onnx`` with float32 input: ``model`` (a fitted fastnn estimator, or a pipeline ending in
    one) converted for inputs shaped like ``X`` (only ``X[:1]`` is used, converted to float32). ``options`` and
    other keywords go to skl2onnx (e.g. ``options={id(model): {'zipmap': False}}``)."""
    X = np.asarray(X, dtype=np.float32)[:1]
    opset = DEFAULT_OPSET if target_opset is None else target_opset
    return skl2onnx.to_onnx(model, X, target_opset=opset, options=options, **kwargs)


def network_to_onnx(net, *, target_opset=None):
    """A ``ModelProto`` computing ``net.forward(X)`` (the logits, before softmax/sigmoid/exp) for a built
    ``Sequential``: float32 input ``X`` of shape ``(N, *net.input_shape)``, float32 output ``logits`` of shape
    ``(N, *net.output_shape)``."""
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
