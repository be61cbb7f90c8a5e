"""ONNX nodes for a ``Sequential``'s layer list: one converter per layer class, in a dispatch table.

A converter is ``f(graph, layer, x) -> y``: it reads the fitted layer, emits the nodes computing the layer's
inference forward pass from the tensor named ``x`` and returns the name of the output tensor. Tensors keep
fastnn's layouts: feature rows ``(N, n)`` and images ``(N, C, H, W)`` (ONNX's own layout for Conv and the pools),
so no transposes are needed. ``graph`` is a ``Graph``: ``graph.const(array, hint)`` adds an initializer in the
graph's float type, ``graph.node(op, inputs, hint, out=None, **attributes)`` adds a node.

Every op used here exists in the default ONNX domain at opset ``MIN_OPSET`` (13) with the semantics relied on.
New layers register with ``@converts(LayerClass)``; a layer without a converter raises ``NotImplementedError``
naming it before any node is emitted (``check_layers``).
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from .. import layers as L

#: The lowest opset (default domain) the emitted graphs are valid for: Softmax's ``axis`` semantics, Gemm,
#: Reshape with a shape input, ArgMax/Gather as used here.
MIN_OPSET = 13

_ONNX_FLOAT = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}

#: layer class -> converter; exact classes, so a subclass that changes the computation is not exported silently.
LAYER_CONVERTERS = {}


def converts(*classes):
    """Decorator registering an ONNX converter for the given layer classes (in ``LAYER_CONVERTERS``).

    A converter is ``f(graph, layer, x) -> y``: it reads the fitted ``layer``, adds the nodes computing the
    layer's inference forward pass from the tensor named ``x``, and returns the name of its output tensor.
    ``graph.const(array, hint)`` adds a constant in the graph's float type and ``graph.node(op_type, inputs,
    hint, **attributes)`` a node of the default ONNX domain (at opset ``MIN_OPSET`` or later); tensors keep
    fastnn's layouts, ``(N, n)`` rows and ``(N, C, H, W)`` images. Registration is by exact class: a subclass of a
    supported layer needs its own converter.

    Parameters
    ----------
    *classes : type
        The layer classes (subclasses of ``fastnn.layers.Layer``) the decorated function converts.

    Returns
    -------
    decorator : callable
        Registers the function for each class and returns it unchanged.

    See Also
    --------
    network_to_onnx : Exports a ``Sequential`` through the converters.

    Examples
    --------
    A converter for a custom layer that doubles its input:

    >>> import onnxruntime
    >>> from fastnn import Dense, Sequential, SquaredError
    >>> from fastnn.layers import Layer
    >>> from fastnn.onnx import converts, network_to_onnx
    >>> class Double(Layer):
    ...     def _forward(self, x, training):
    ...         return 2 * x
    ...     def backward(self, dout, l2=0.0):
    ...         return 2 * dout
    >>> @converts(Double)
    ... def double_nodes(graph, layer, x):
    ...     return graph.node("Mul", [x, graph.const(np.array(2.0), "two")], "doubled")
    >>> net = Sequential([Dense(2), Double()], SquaredError()).build((3,), np.float32, random_state=0)
    >>> sess = onnxruntime.InferenceSession(network_to_onnx(net).SerializeToString(),
    ...                                     providers=["CPUExecutionProvider"])
    >>> X = np.ones((4, 3), np.float32)
    >>> np.allclose(sess.run(None, {"X": X})[0], net.forward(X), atol=1e-6)
    True
    """

    def register(fn):
        for cls in classes:
            LAYER_CONVERTERS[cls] = fn
        return fn

    return register


class Graph:
    """Builds nodes and initializers of one float type (``dtype``: float32 or float64) through a backend.

    ``unique(hint) -> name`` gives fresh tensor and node names (skl2onnx's scope inside a conversion, a counter
    otherwise); ``add_node(op_type, inputs, outputs, name, **attributes)`` and ``add_initializer(TensorProto)``
    receive what is built (skl2onnx's container, or lists for a standalone ``ModelProto``).
    """

    def __init__(self, dtype, unique, add_node, add_initializer):
        self.dtype = np.dtype(dtype)
        self.onnx_type = _ONNX_FLOAT[self.dtype]
        self.unique, self._add_node, self._add_initializer = unique, add_node, add_initializer

    def const(self, array, hint, dtype=None):
        """A constant tensor holding ``array`` (cast to ``dtype``, default the graph's float type)."""
        name = self.unique(hint)
        self._add_initializer(numpy_helper.from_array(np.asarray(array, dtype or self.dtype), name))
        return name

    def node(self, op_type, inputs, hint, out=None, **attributes):
        """One node ``op_type(*inputs)`` with a single output, named ``out`` or a fresh name from ``hint``."""
        out = out if out is not None else self.unique(hint)
        self._add_node(op_type, list(inputs), [out], self.unique(op_type), **attributes)
        return out

    def reshape(self, x, shape, hint="reshaped", out=None):
        return self.node("Reshape", [x, self.const(np.array(shape), hint + "_shape", np.int64)], hint, out=out)


def standalone_graph(dtype):
    """A ``Graph`` whose nodes and initializers go to the lists ``graph.nodes`` and ``graph.initializers``."""
    names = {}

    def unique(hint):
        names[hint] = names.get(hint, -1) + 1
        return hint if names[hint] == 0 else f"{hint}_{names[hint]}"

    nodes, initializers = [], []

    def add_node(op_type, inputs, outputs, name, **attributes):
        nodes.append(helper.make_node(op_type, inputs, outputs, name=name, **attributes))

    graph = Graph(dtype, unique, add_node, initializers.append)
    graph.nodes, graph.initializers = nodes, initializers
    return graph


def check_layers(layers, owner):
    """Raise ``NotImplementedError`` naming the first layer of ``layers`` that has no converter."""
    for i, layer in enumerate(layers):
        if type(layer) not in LAYER_CONVERTERS:
            supported = ", ".join(sorted(cls.__name__ for cls in LAYER_CONVERTERS))
            raise NotImplementedError(
                f"fastnn.onnx cannot export layer {i} of {owner}, {type(layer).__name__} ({layer!r}): no ONNX "
                f"converter is registered for it. Layers with converters: {supported}. Register one with "
                "fastnn.onnx.converts(LayerClass)."
            )


def network_nodes(graph, net, x, owner="the network"):
    """Emit the inference forward pass of ``net`` (a built ``Sequential``) on the tensor named ``x``, whose rows are
    either flat ``(N, prod(input_shape))`` or already ``(N, *input_shape)``; return the name of the logits
    ``(N, *output_shape)`` (before the loss's output link: softmax, sigmoid or exp)."""
    check_layers(net.layers, owner)
    if len(net.input_shape) > 1:  # images given as rows: (N, C*H*W) -> (N, C, H, W); a no-op for 4-D input
        x = graph.reshape(x, [-1, *net.input_shape], "images")
    for layer in net.layers:
        x = LAYER_CONVERTERS[type(layer)](graph, layer, x)
    return x


# ---------------------------------------------------------------------------------------------- converters
@converts(L.Dense)
def _dense(graph, layer, x):
    """``y = x @ W + b``: Gemm with W ``(n_in, n_out)`` as stored."""
    return graph.node("Gemm", [x, graph.const(layer.W, "dense_W"), graph.const(layer.b, "dense_b")], "dense")


@converts(L.Identity, L.Dropout)
def _identity(graph, layer, x):
    """Identity, and Dropout, which is the identity at inference."""
    return graph.node("Identity", [x], "identity")


_ELEMENTWISE = {L.ReLU: "Relu", L.Sigmoid: "Sigmoid", L.Tanh: "Tanh"}


@converts(*_ELEMENTWISE)
def _elementwise(graph, layer, x):
    return graph.node(_ELEMENTWISE[type(layer)], [x], type(layer).__name__.lower())


@converts(L.LeakyReLU)
def _leaky_relu(graph, layer, x):
    """``y = x`` for x > 0, ``slope * x`` otherwise (ONNX LeakyRelu's ``alpha``)."""
    return graph.node("LeakyRelu", [x], "leaky_relu", alpha=float(layer.slope))


@converts(L.Flatten)
def _flatten(graph, layer, x):
    """``(N, d1, d2, ...) -> (N, d1 * d2 * ...)``, C order as fastnn's reshape."""
    return graph.node("Flatten", [x], "flatten", axis=1)


@converts(L.Conv2D)
def _conv2d(graph, layer, x):
    """Cross-correlation with W ``(F, C, kh, kw)``, zero padding ``(ph, pw)`` on both sides, stride ``(sh, sw)``."""
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
    inputs = [x, graph.const(layer.W, "conv_W"), graph.const(layer.b, "conv_b")]
    return graph.node("Conv", inputs, "conv", kernel_shape=[kh, kw], strides=[sh, sw], pads=[ph, pw, ph, pw])


@converts(L.MaxPool2D, L.AvgPool2D)
def _pool2d(graph, layer, x):
    """Windows ``pool_size`` moved by ``stride``, no padding, floor output size (ONNX's default ceil_mode=0)."""
    op = "MaxPool" if isinstance(layer, L.MaxPool2D) else "AveragePool"
    return graph.node(op, [x], op.lower(), kernel_shape=list(layer.pool_size), strides=list(layer.stride))


@converts(L.BatchNorm)
def _batch_norm(graph, layer, x):
    """Inference batch norm: ``y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta`` over the channel
    axis 1 of ``(N, C)`` or ``(N, C, H, W)``."""
    gamma, beta = layer.params
    inputs = [x] + [
        graph.const(a, hint)
        for a, hint in ((gamma, "bn_gamma"), (beta, "bn_beta"), (layer.running_mean, "bn_mean"),
                        (layer.running_var, "bn_var"))
    ]
    return graph.node("BatchNormalization", inputs, "batch_norm", epsilon=float(layer.eps))


@converts(L.GlobalAvgPool2D)
def _global_avg_pool2d(graph, layer, x):
    """Mean over H and W: GlobalAveragePool gives ``(N, C, 1, 1)``, reshaped to the layer's output shape."""
    pooled = graph.node("GlobalAveragePool", [x], "global_avg_pool")
    return graph.reshape(pooled, [-1, *layer.output_shape], "global_avg_pool_out")

