"""fastnn: neural networks whose hot loops are Numba kernels, with scikit-learn estimators on top."""
from . import datasets, gradcheck, kernels, layers, losses, network, optimizers
from .layers import (
    AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, GlobalAvgPool2D, Identity, LeakyReLU, MaxPool2D, ReLU, Sigmoid,
    Tanh,
)
from .losses import AbsoluteError, HuberLoss, PoissonLoss, SigmoidCrossEntropy, SoftmaxCrossEntropy, SquaredError
from .estimators import MLPClassifier, MLPRegressor
from .cnn import CNNClassifier
from .neural_net import NeuralNetClassifier, NeuralNetRegressor
from .network import Sequential
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSProp
from ._show_versions import show_versions
from ._warmup import warmup

__version__ = "0.1.0"
