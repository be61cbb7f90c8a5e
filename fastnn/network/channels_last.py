"""Inference through a network's conv stacks channels last, from end to end.

A conv stack is a run of layers that starts with a ``Conv2D`` and holds only ``Conv2D``, activations,
``MaxPool2D``, ``AvgPool2D`` and ``Dropout`` (the identity at inference). ``Sequential``'s inference runs each such
run as one step (``ConvStack``): the stack's input is padded into NHWC once, every convolution writes NHWC rows
straight from its GEMM with its bias and the activation after it applied in the same pass, pooling combines whole
rows of channels, and the stack's output goes back to ``(N, C, H, W)`` for the layers after it (``Flatten``, whose
order the next layer's weights were trained in). The layered inference instead converts every convolution's input
to NHWC and its output back, and runs each activation and pooling as a pass of its own.

Threads: one split of the batch for the whole stack (``layers.threads``), each range running every layer in turn on
its thread's work arrays: one fork/join per stack instead of one per layer.

Training never comes here: its layers keep ``(N, C, H, W)`` outputs for their backward passes.
"""
import numpy as np

from ..kernels import activations as _act
from ..kernels import codes
from ..layers import Activation, AvgPool2D, Conv2D, Dropout, MaxPool2D, workspace
from ..layers.threads import run, split

_MEMBERS = (Conv2D, Activation, MaxPool2D, AvgPool2D, Dropout)


def inference_steps(layers):
    """``layers`` with each conv stack replaced by its ``ConvStack``: what an inference pass runs, in order."""
    steps, i = [], 0
    while i < len(layers):
        if not isinstance(layers[i], Conv2D):
            steps.append(layers[i])
            i += 1
            continue
        stop = i + 1
        while stop < len(layers) and isinstance(layers[stop], _MEMBERS):
            stop += 1
        steps.append(ConvStack(layers[i:stop]))
        i = stop
    return steps


class ConvStack:
    """Layers of a network (a ``Conv2D`` first) run channels last at inference, as one step with a layer's
    inference interface (``_forward(x, False)``, ``splits``, ``output_shape``).

    ``ops`` are ``(layer, code, slope)``: a convolution with the activation that follows it (``IDENTITY`` when none
    does), a pooling layer (code None), or an activation that follows a pooling layer (applied in place)."""

    def __init__(self, layers):
        self.layers = list(layers)
        self.ops = []
        for layer in self.layers:
            if isinstance(layer, Dropout):
                continue
            if isinstance(layer, Activation) and self.ops and isinstance(self.ops[-1][0], Conv2D) \
                    and self.ops[-1][1] == codes.IDENTITY and self.ops[-1][2] == 0.0:
                self.ops[-1] = (self.ops[-1][0], layer.code, layer.slope)  # fused into the convolution's pass
            else:
                self.ops.append((layer, codes.IDENTITY if isinstance(layer, Conv2D) else None, 0.0))
        self.output_shape = self.layers[-1].output_shape
        self.dtype = self.layers[0].dtype
        self._work = sum(layer.filters * layer._K * layer._P for layer in self.layers if isinstance(layer, Conv2D))

    def splits(self, n):
        return len(split(n, self._work)) > 1

    def _forward(self, x, training=False):
        """Inference on ``x (N, C, H, W)``; returns ``(N, C', H', W')`` as the stack's layers would, in a network's
        output pool when one is active (``workspace.reused_outputs``)."""
        n = x.shape[0]
        out = self.layers[-1]._out("out", n, self.output_shape, False)
        weights = [op[0]._weights_cl(False) if isinstance(op[0], Conv2D) else None for op in self.ops]
        run(lambda t, a, b: self._range(x[a:b], out[a:b], weights), split(n, self._work))
        return out

    def _range(self, x, out, weights):
        """The stack over one thread's range: NHWC arrays in this thread's two work slots, used in turn."""
        slot, first = 0, True
        for (layer, code, slope), Wr in zip(self.ops, weights):
            if isinstance(layer, Activation):
                flat = x.reshape(-1)
                _act.FORWARD[layer.code](flat, layer.slope, flat)
                continue
            C, H, W = layer.output_shape
            y = workspace.scratch(("channels-last", slot), (x.shape[0], H, W, C), self.dtype)
            slot = 1 - slot
            if isinstance(layer, Conv2D):
                layer._infer_cl(x, y, first, code, slope, Wr)
            else:
                layer._infer_cl(x, y)
            x, first = y, False
        out[...] = x.transpose(0, 3, 1, 2)

    def __repr__(self):
        return f"ConvStack({', '.join(map(repr, self.layers))})"
