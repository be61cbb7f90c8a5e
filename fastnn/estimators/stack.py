"""The layer stack behind every fastnn estimator: hidden layers (from a preset, or the user's templates) plus the
output ``Dense(n_outputs)``, initialised from the estimator's ``random_state``, with build errors that name the
layer that cannot take its input.

``LayerStack`` is the mixin ``MLPClassifier``/``MLPRegressor`` (``hidden_layer_sizes``), ``CNNClassifier``
(``conv_layers``) and ``NeuralNetClassifier``/``NeuralNetRegressor`` (``layers``) share; each supplies only
``_hidden_layers(input_shape) -> list[Layer]`` (fresh, unbuilt layers) and, optionally, ``_output_layer``.

Initialisation (``init_from_random_state``): the ``numpy.random.RandomState`` of ``random_state`` is drawn layer by
layer, in stack order, weights before biases, by the rule of each ``Dense`` (its ``init``) and ``Conv2D`` (He), as
``layer.init_bounds()`` reports it from ``fastnn.layers.init``; a zero bias draws nothing. Every other layer keeps
what its ``build`` set (``BatchNorm``: ``gamma = 1``, ``beta = 0``, running mean 0 and variance 1), drawing nothing
from ``random_state``.

So a given ``random_state`` gives scikit-learn's initial MLP weights, and the presets equal the corresponding
``NeuralNet*`` stacks bit for bit.
"""

from ..layers import AvgPool2D, BatchNorm, Conv2D, Dense, GlobalAvgPool2D, MaxPool2D

#: What each layer family takes per sample, and how to give it that (for the build error).
_EXPECTS = {
    Dense: ("1-D features (n_features,)", "put Flatten() or GlobalAvgPool2D() before it"),
    Conv2D: ("images (C, H, W)", "pass input_shape=(C, H, W) to reshape flat rows, or give 4-D X (N, C, H, W)"),
    MaxPool2D: ("images (C, H, W)", "pass input_shape=(C, H, W) to reshape flat rows, or give 4-D X (N, C, H, W)"),
    AvgPool2D: ("images (C, H, W)", "pass input_shape=(C, H, W) to reshape flat rows, or give 4-D X (N, C, H, W)"),
    GlobalAvgPool2D: ("images (C, H, W)", "it must follow image layers (Conv2D, pooling)"),
    BatchNorm: ("features (F,) or images (C, H, W)", "check the layers before it"),
}


def init_from_random_state(net, rs):
    """Draw the initial weights of ``net``'s ``Dense`` and ``Conv2D`` layers from the ``RandomState`` ``rs`` (see
    the module docstring for the rules)."""
    for layer in net.layers:
        if isinstance(layer, (Dense, Conv2D)):
            W, b = layer.params
            bound, bias_bound = layer.init_bounds()
            W[...] = rs.uniform(-bound, bound, W.shape)
            b[...] = rs.uniform(-bias_bound, bias_bound, b.shape) if bias_bound else 0


def build_error(net, exc, describe):
    """The ``ValueError`` for a ``Sequential.build`` that failed with ``exc`` (None if no layer failed): names the
    first layer that could not be built (``describe(index)``), the per-sample shape it received, the shape it takes
    and how to fix the stack."""
    index = next((i for i, layer in enumerate(net.layers) if layer.output_shape is None), None)
    if index is None:
        return None
    layer = net.layers[index]
    got = layer.input_shape if layer.input_shape is not None else "?"
    expects, hint = next(
        ((e, h) for cls, (e, h) in _EXPECTS.items() if isinstance(layer, cls)), ("another shape", "check the stack")
    )
    where = f"{describe(index, len(net.layers))} ({layer!r})"
    return ValueError(
        f"{where} cannot take its input: it receives per-sample shape {tuple(got)} (from input_shape "
        f"{tuple(net.input_shape)}), and takes {expects}; {hint}. ({exc})"
    )


class LayerStack:
    """Estimator mixin: the network is ``_hidden_layers(input_shape) + [_output_layer(n_outputs)]``, initialised by
    ``init_from_random_state``."""

    def _hidden_layers(self, input_shape):
        raise NotImplementedError

    def _output_layer(self, n_outputs):
        return Dense(n_outputs)

    def _make_layers(self, n_features, n_outputs):
        return self._hidden_layers(self._input_shape(n_features)) + [self._output_layer(n_outputs)]

    def _init_params(self, net, rs):
        init_from_random_state(net, rs)
