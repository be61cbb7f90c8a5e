"""The estimator floor: scikit-learn estimators, each a preset or a user's stack of layers over one ``Sequential``."""
from .cnn import CNNClassifier
from .mlp import MLPClassifier, MLPRegressor
from .neural_net import NeuralNetClassifier, NeuralNetRegressor

__all__ = ["CNNClassifier", "MLPClassifier", "MLPRegressor", "NeuralNetClassifier", "NeuralNetRegressor"]
