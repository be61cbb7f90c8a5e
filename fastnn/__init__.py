"""fastnn: neural networks whose hot loops are Numba kernels, with scikit-learn estimators on top."""
from . import datasets, gradcheck, kernels, layers, losses, network, optimizers
from .layers import Dense, Dropout, Flatten, Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from .losses import PoissonLoss, SigmoidCrossEntropy, SoftmaxCrossEntropy, SquaredError
from .estimators import MLPClassifier, MLPRegressor
from .network import Sequential
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSProp

__version__ = "0.1.0"
