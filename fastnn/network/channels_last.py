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

Tiers, as the fused dense path's (``Sequential.fused``): with ``'auto'`` a stack runs channels last once its
kernels are compiled in this process or stored in the kernel cache (``ConvStack.ready``); until then its layers run
one by one, with the kernels training compiled, so that a first prediction compiles nothing. A cold fit's compile
helper (``compile_helper``) compiles them after the training step's, while the fit trains; ``fastnn.warmup()``
compiles them ahead of time. ``True`` always runs stacks channels last, ``False`` never.

Training never comes here: its layers keep ``(N, C, H, W)`` outputs for their backward passes.
"""
import time

import numpy as np

from .fused import RECHECK_SECONDS
from ..kernels import activations as _act
from ..kernels import codes, is_cached, is_compiled, signature
from ..kernels import conv as _conv
from ..kernels import pool as _pool
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
        self._ready, self._next_look = False, 0.0

    def ready(self, fused):
        """Whether inference runs this stack channels last under the network's ``fused`` setting: always with True,
        never with False; with ``'auto'`` once every kernel it calls is compiled in this process or in the kernel
        cache (whose index is read again at most every ``RECHECK_SECONDS``: a compile helper may be filling it)."""
        if fused != "auto":
            return bool(fused)
        if not self._ready and time.monotonic() >= self._next_look:
            self._next_look = time.monotonic() + RECHECK_SECONDS
            self._ready = all(is_compiled(k, sig) or is_cached(k, sig) for k, sig in self._signatures())
        return self._ready

    def _signatures(self):
        """``(kernel, signature)`` of each kernel a pass calls, typed from stand-ins of its arguments' types."""
        a1, a2, a4 = (np.zeros((1,) * ndim, self.dtype) for ndim in (1, 2, 4))
        calls = [(_conv.pad_nhwc, (a4, 1, 1, a4)), (_conv.conv_infer_cl, (a4, a2, a1, 1, 1, 1, 1, 1, 1, 0.0, a1, a4))]
        if any(isinstance(layer, Conv2D) and any(layer.padding) for layer, _, _ in self.ops[1:]):
            calls.append((_conv.pad_cl, (a4, 1, 1, a4)))
        if any(isinstance(layer, (MaxPool2D, AvgPool2D)) for layer, _, _ in self.ops):
            calls.append((_pool.pool_cl, (a4, 1, 1, 1, 1, False, a4)))
        calls += [(_act.FORWARD[op[0].code], (a1, 0.0, a1)) for op in self.ops if isinstance(op[0], Activation)]
        return [(kernel, signature(kernel, args)) for kernel, args in calls]

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
