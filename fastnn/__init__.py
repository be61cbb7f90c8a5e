"""fastnn: neural networks whose hot loops are Numba kernels, with scikit-learn estimators on top."""
from ._version import __version__
from . import datasets, gradcheck, kernels, layers, losses, network, optimizers
from .cli import show_versions, warmup
from .estimators import CNNClassifier, MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor
from .layers import (
    AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, GlobalAvgPool2D, Identity, LeakyReLU, MaxPool2D, ReLU, Sigmoid,
    Tanh,
)
from .losses import AbsoluteError, HuberLoss, PoissonLoss, SigmoidCrossEntropy, SoftmaxCrossEntropy, SquaredError
from .network import Sequential, set_background_compile
from .training.checkpoint import Checkpoint, load_checkpoint
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSProp

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
