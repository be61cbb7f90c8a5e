"""Layers: objects that own parameters and work buffers and call ``fastnn.kernels``.

Contract (see docs/design.md): ``build(input_shape, dtype, rng) -> output_shape`` (shapes exclude the batch axis);
``forward(x, training=False) -> y``; ``backward(dout, l2=0.0) -> dx``, which fills ``grads`` (parallel to
``params``; ``l2 * p`` added for each L2-penalised parameter ``p``) and never writes into ``dout``. ``forward(training=True)`` caches what backward needs and writes into buffers
reused across batches (kept at the largest batch size seen, sliced for smaller ones); ``training=False``
allocates its output and caches nothing, so inference is thread-safe.

Inputs of any layout and dtype are accepted; kernels always receive C-contiguous, aligned, writable arrays of the
layer's dtype.
"""
from .activations import ACTIVATIONS, Activation, Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from .base import Layer, all_finite, kernel_array
from .conv import Conv2D
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .normalization import BatchNorm
from .pool import AvgPool2D, GlobalAvgPool2D, MaxPool2D

__all__ = [
    "ACTIVATIONS", "Activation", "AvgPool2D", "BatchNorm", "Conv2D", "Dense", "Dropout", "Flatten", "GlobalAvgPool2D",
    "Identity", "Layer", "LeakyReLU", "MaxPool2D", "ReLU", "Sigmoid", "Tanh", "all_finite", "kernel_array",
]
