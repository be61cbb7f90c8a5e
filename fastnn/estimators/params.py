"""The training hyperparameters every fastnn estimator shares: their constraints (scikit-learn's
``_parameter_constraints`` format) and their defaults.

``TRAINING_DEFAULTS`` is the one table of defaults; each estimator's ``__init__`` spells them out again, as
scikit-learn requires of an explicit signature, and ``tests/test_estimator_params.py`` checks that the five
signatures agree with this table and with scikit-learn's ``MLPClassifier``/``MLPRegressor`` where the names are
scikit-learn's. Architecture parameters (``hidden_layer_sizes``, ``conv_layers``, ``layers``, ...) and the
classifier's / regressor's own (``class_weight``, ``loss``, ``huber_delta``) are declared where they are used.
"""
import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, Options, StrOptions

from ..training.solver_registry import SOLVERS

#: Shared training hyperparameter -> default. The first 21 are scikit-learn 1.9's MLP parameters (same defaults; its
#: other two, hidden_layer_sizes and activation, belong to the presets); the rest, from scoring on, are fastnn's.
TRAINING_DEFAULTS = {
    "solver": "adam",
    "alpha": 0.0001,
    "batch_size": "auto",
    "learning_rate": "constant",
    "learning_rate_init": 0.001,
    "power_t": 0.5,
    "max_iter": 200,
    "shuffle": True,
    "random_state": None,
    "tol": 1e-4,
    "verbose": False,
    "warm_start": False,
    "momentum": 0.9,
    "nesterovs_momentum": True,
    "early_stopping": False,
    "validation_fraction": 0.1,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "epsilon": 1e-8,
    "n_iter_no_change": 10,
    "max_fun": 15000,
    "scoring": None,
    "dtype": np.float32,
    "dropout": 0.0,
    "weight_decay": 0.01,
    "progress_bar": False,
    "fused": "auto",
    "transform_layer": None,  # not for training: the layer transform() returns (fastnn.estimators.features)
}

#: Shared training hyperparameter -> scikit-learn's constraints.
TRAINING_CONSTRAINTS = {
    "solver": [StrOptions(set(SOLVERS))],
    "alpha": [Interval(numbers.Real, 0, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
    "learning_rate": [StrOptions({"constant", "invscaling", "adaptive", "cosine", "plateau"})],
    "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
    "power_t": [Interval(numbers.Real, 0, None, closed="left")],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "momentum": [Interval(numbers.Real, 0, 1, closed="both")],
    "nesterovs_momentum": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
    "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
    "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
    "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
    "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left"), Options(numbers.Real, {np.inf})],
    "max_fun": [Interval(numbers.Integral, 1, None, closed="left")],
    "scoring": [str, callable, None],
    "dtype": [StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64})],
    "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
    "progress_bar": ["boolean"],
    "fused": [StrOptions({"auto"}), "boolean"],
    "transform_layer": [numbers.Integral, None],
}
