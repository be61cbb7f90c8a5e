"""The five estimators share one table of training defaults (``fastnn.estimators.params``): their ``__init__``
signatures must agree with it, and with scikit-learn's MLPs where the names are scikit-learn's."""
import inspect

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

from fastnn import CNNClassifier, MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor
from fastnn.estimators.params import TRAINING_CONSTRAINTS, TRAINING_DEFAULTS

ESTIMATORS = [MLPClassifier, MLPRegressor, CNNClassifier, NeuralNetClassifier, NeuralNetRegressor]


def _defaults(cls):
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items() if name != "self"}


def _same(a, b):
    return a is b if isinstance(a, type) or isinstance(b, type) else (type(a) is type(b) and a == b)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_signature_defaults_match_the_training_table(cls):
    defaults = _defaults(cls)
    missing = sorted(set(TRAINING_DEFAULTS) - set(defaults))
    assert not missing, f"{cls.__name__}.__init__ lacks the shared parameters {missing}"
    wrong = {k: (defaults[k], v) for k, v in TRAINING_DEFAULTS.items() if not _same(defaults[k], v)}
    assert not wrong, f"{cls.__name__}: (signature default, table default) differ for {wrong}"


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_parameter_has_a_constraint(cls):
    assert set(_defaults(cls)) <= set(cls._parameter_constraints), sorted(
        set(_defaults(cls)) - set(cls._parameter_constraints))
    assert set(TRAINING_CONSTRAINTS) == set(TRAINING_DEFAULTS)


@pytest.mark.parametrize("ours, theirs", [(MLPClassifier, SkMLPClassifier), (MLPRegressor, SkMLPRegressor)])
def test_scikit_learn_names_keep_scikit_learn_defaults(ours, theirs):
    sk = _defaults(theirs)
    mine = _defaults(ours)
    assert set(sk) <= set(mine), sorted(set(sk) - set(mine))
    wrong = {k: (mine[k], v) for k, v in sk.items() if not _same(mine[k], v)}
    assert not wrong, f"(fastnn, scikit-learn) defaults differ for {wrong}"
    shared = {k: v for k, v in TRAINING_DEFAULTS.items() if k in sk}
    assert shared == {k: sk[k] for k in shared}


def test_the_table_holds_the_fastnn_extras():
    assert TRAINING_DEFAULTS["dtype"] is np.float32 and TRAINING_DEFAULTS["fused"] == "auto"
