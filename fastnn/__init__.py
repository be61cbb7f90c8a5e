"""fastnn: neural networks whose hot loops are Numba kernels, with scikit-learn estimators on top."""
import importlib

from ._version import __version__
from . import kernels, layers, losses, network, optimizers
from .layers import (
    AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, GlobalAvgPool2D, Identity, LeakyReLU, MaxPool2D, ReLU, Sigmoid,
    Tanh,
)
from .losses import AbsoluteError, HuberLoss, PoissonLoss, SigmoidCrossEntropy, SoftmaxCrossEntropy, SquaredError
from .network import Sequential, set_background_compile
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSProp

# The names that need scikit-learn (the estimators and what sits on them) are imported at their first use, so that
# the floors below them load without it: a background compile's process starts in a fraction of the second that
# scikit-learn's import takes. ``from fastnn import MLPClassifier`` works as always.
_LAZY = {
    "MLPClassifier": ".estimators", "MLPRegressor": ".estimators", "CNNClassifier": ".estimators",
    "NeuralNetClassifier": ".estimators", "NeuralNetRegressor": ".estimators",
    "show_versions": ".cli", "warmup": ".cli",
    "Checkpoint": ".training.checkpoint", "load_checkpoint": ".training.checkpoint",
}
_LAZY_MODULES = ("datasets", "gradcheck")

__all__ = [
    # estimators
    "MLPClassifier", "MLPRegressor", "CNNClassifier", "NeuralNetClassifier", "NeuralNetRegressor",
    # building blocks
    "Sequential", "Dense", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Identity", "Dropout", "Flatten", "Conv2D",
    "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "BatchNorm",
    "SoftmaxCrossEntropy", "SigmoidCrossEntropy", "SquaredError", "PoissonLoss", "AbsoluteError", "HuberLoss",
    "SGD", "Adagrad", "RMSProp", "Adam", "AdamW",
    # tools
    "show_versions", "warmup", "set_background_compile", "Checkpoint", "load_checkpoint",
    # modules
    "datasets", "gradcheck", "kernels", "layers", "losses", "network", "optimizers",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
