"""skl2onnx shape calculators and converters for fastnn's estimators.

Any fitted fastnn estimator exposes its network as ``est.network_`` (a ``Sequential``) and its output link as
``est.out_activation_``; the graph is the network's layer list (``_layers.network_nodes``) followed by a head:

* classifiers (outputs ``label``, ``probabilities``):
  - ``softmax`` (multiclass): ``probabilities = Softmax(logits)``, ``label = classes_[argmax(logits)]``;
  - ``logistic`` with one output (binary): ``p = Sigmoid(logits)``, ``probabilities = [1 - p, p]``,
    ``label = classes_[logits > 0]``;
  - ``logistic`` with one output per label (multi-label): ``probabilities = Sigmoid(logits)``,
    ``label = int64(logits > 0)`` of shape ``(N, n_labels)``;
  labels are int64 (integer, bool or integral float classes) or strings; option ``nocl=True`` outputs class
  indices instead; skl2onnx's parser adds ZipMap after the converter (option ``zipmap``: True, False, 'columns').
* regressors (output ``variable`` of shape ``(N, n_outputs)``): the logits (``identity``) or ``Exp(logits)``
  (``exp``, the Poisson log link).

Deciding labels on the logits (sign, argmax) rather than on the probabilities makes the same decisions as
fastnn's ``predict`` (``p > 0.5``; argmax of the softmax) without float32 rounding of p near 0.5.

The graph computes in float32, whatever the model's ``dtype``: onnxruntime's CPU kernels for Conv, LeakyRelu
and the average pools exist for float32 only. Double or int64 inputs are cast to float32 on the way in, and
double inputs get double outputs (skl2onnx's convention), cast on the way out.
"""
import numpy as np
from onnx import TensorProto
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, Int64TensorType, StringTensorType
from skl2onnx.common.utils import check_input_and_output_numbers, check_input_and_output_types

from ._layers import MIN_OPSET, Graph, check_layers, network_nodes

#: skl2onnx options the classifier converters accept (skl2onnx rejects any other, naming it).
CLASSIFIER_OPTIONS = {"zipmap": [True, False, "columns"], "nocl": [False, True]}


# ---------------------------------------------------------------------------------------------- shared
def _output_float_type(operator):
    """The tensor type (class) of the float outputs: double for a double input, float32 otherwise."""
    return DoubleTensorType if isinstance(operator.inputs[0].type, DoubleTensorType) else FloatTensorType


def _check(operator, n_outputs):
    """Input/output counts and types, and a converter for every layer (so errors come before any node)."""
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=n_outputs)
    check_input_and_output_types(operator, good_input_types=[FloatTensorType, DoubleTensorType, Int64TensorType])
    model = operator.raw_operator
    check_layers(model.network_.layers, f"{type(model).__name__}'s network")


def _graph(scope, operator, container):
    """A float32 ``Graph`` writing into skl2onnx's container, and the name of the float32 input tensor."""
    opset = container.target_opset
    if opset is not None and opset < MIN_OPSET:
        raise ValueError(
            f"fastnn.onnx needs target_opset >= {MIN_OPSET}, got {opset}; pass target_opset={MIN_OPSET} or newer."
        )

    def add_node(op_type, inputs, outputs, name, **attributes):
        container.add_node(op_type, inputs, outputs, name=name, **attributes)

    def add_initializer(tensor):
        # the container copies a TensorProto's raw_data, which string tensors do not use
        content = list(tensor.string_data) if tensor.data_type == TensorProto.STRING else tensor
        container.add_initializer(tensor.name, tensor.data_type, list(tensor.dims), content)

    graph = Graph(np.float32, scope.get_unique_variable_name, add_node, add_initializer)
    x = operator.inputs[0].full_name
    if not isinstance(operator.inputs[0].type, FloatTensorType):
        x = graph.node("Cast", [x], "float_input", to=TensorProto.FLOAT)
    return graph, x


def _float_output(graph, operator, x, index):
    """Write the float32 tensor ``x`` to output ``index``, cast to double for a double input."""
    out = operator.outputs[index].full_name
    if _output_float_type(operator) is DoubleTensorType:
        return graph.node("Cast", [x], "output", out=out, to=TensorProto.DOUBLE)
    return graph.node("Identity", [x], "output", out=out)


def _logits(graph, model, x):
    return network_nodes(graph, model.network_, x, f"{type(model).__name__}'s network")


# ---------------------------------------------------------------------------------------------- classifiers
def _multilabel(model):
    """Multi-label: one logistic output per label (binary has one logistic output, multiclass softmax ones)."""
    return model.out_activation_ == "logistic" and model.n_outputs_ > 1


def _label_values(model, nocl):
    """The labels the ``label`` output takes, as an int64 or a string (object) array, ordered as ``classes_``."""
    classes = np.asarray(model.classes_)
    if nocl or _multilabel(model):
        return np.arange(len(classes), dtype=np.int64)
    if classes.dtype.kind in "iubf":  # float classes are integral: fit refuses continuous targets
        return classes.astype(np.int64)
    return np.array([str(c) for c in classes], dtype=object)


def _nocl(scope, model):
    return scope.get_options(model, dict(nocl=False))["nocl"]


def classifier_shape(operator):
    """``label``: int64 or string ``(N,)`` (``(N, n_labels)`` int64 for multi-label); ``probabilities``:
    ``(N, n_classes)``, float32 (double for a double input)."""
    _check(operator, 2)
    model = operator.raw_operator
    N = operator.inputs[0].get_first_dimension()
    labels = _label_values(model, _nocl(operator.scope_inst, model))
    label_type = StringTensorType if labels.dtype == object else Int64TensorType
    n_classes = len(model.classes_)
    operator.outputs[0].type = label_type([N, n_classes] if _multilabel(model) else [N])
    operator.outputs[1].type = _output_float_type(operator)([N, n_classes])


def convert_classifier(scope, operator, container):
    model = operator.raw_operator
    graph, x = _graph(scope, operator, container)
    z = _logits(graph, model, x)
    label_out = operator.outputs[0].full_name
    if model.out_activation_ == "softmax":
        _float_output(graph, operator, graph.node("Softmax", [z], "probabilities", axis=1), 1)
        index = graph.node("ArgMax", [z], "class_index", axis=1, keepdims=0)
    elif model.out_activation_ == "logistic":
        p = graph.node("Sigmoid", [z], "probability")
        positive = graph.node("Greater", [z, graph.const(0.0, "zero")], "positive")
        positive = graph.node("Cast", [positive], "positive_int", to=TensorProto.INT64)
        if _multilabel(model):
            _float_output(graph, operator, p, 1)
            graph.node("Identity", [positive], "label", out=label_out)
            return
        negative = graph.node("Sub", [graph.const(1.0, "one"), p], "negative_probability")
        _float_output(graph, operator, graph.node("Concat", [negative, p], "probabilities", axis=1), 1)
        index = graph.reshape(positive, [-1], "class_index")
    else:
        raise NotImplementedError(
            f"fastnn.onnx cannot export a classifier with out_activation_={model.out_activation_!r}; "
            "supported: 'softmax', 'logistic'."
        )
    labels = _label_values(model, _nocl(scope, model))
    graph.node("Gather", [graph.const(labels, "classes", labels.dtype), index], "label", out=label_out, axis=0)


# ---------------------------------------------------------------------------------------------- regressors
def regressor_shape(operator):
    """``variable``: ``(N, n_outputs)``, float32 (double for a double input)."""
    _check(operator, 1)
    model = operator.raw_operator
    N = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _output_float_type(operator)([N, model.n_outputs_])


def convert_regressor(scope, operator, container):
    model = operator.raw_operator
    graph, x = _graph(scope, operator, container)
    z = _logits(graph, model, x)
    if model.out_activation_ == "exp":
        z = graph.node("Exp", [z], "prediction")
    elif model.out_activation_ != "identity":
        raise NotImplementedError(
            f"fastnn.onnx cannot export a regressor with out_activation_={model.out_activation_!r}; "
            "supported: 'identity', 'exp'."
        )
    _float_output(graph, operator, z, 0)
