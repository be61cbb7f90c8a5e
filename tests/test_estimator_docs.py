"""The estimators' docstrings are composed from fastnn/estimators/_docs.py: each lists its own constructor
parameters in signature order with the signature's defaults, and a missing or misspelt text fails at import."""
import inspect

import numpy as np
import pytest

from fastnn import CNNClassifier, MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor
from fastnn.estimators._docs import document

docscrape = pytest.importorskip("numpydoc.docscrape")

ESTIMATORS = [MLPClassifier, MLPRegressor, CNNClassifier, NeuralNetClassifier, NeuralNetRegressor]


def _shown(default):
    if default in (np.float32, np.float64):
        return f"np.{default.__name__}"
    return repr(default).replace("e-08", "e-8")  # epsilon=1e-8 as the signature writes it


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_parameters_follow_the_signature_with_its_defaults(cls):
    documented = [(p.name, p.type.rsplit("default=", 1)[-1]) for p in docscrape.ClassDoc(cls)["Parameters"]]
    signature = [(name, _shown(p.default)) for name, p in inspect.signature(cls.__init__).parameters.items()
                 if name != "self"]
    assert documented == signature


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_attributes_are_filled_in(cls):
    names = [a.name for a in docscrape.ClassDoc(cls)["Attributes"]]
    assert {"coefs_", "intercepts_", "loss_curve_", "n_iter_", "network_"} <= set(names)
    assert ("classes_" in names) == cls.__name__.endswith("Classifier")
    assert "{" + "parameters}" not in cls.__doc__ and "{" + "attributes}" not in cls.__doc__


def _subclass_doc(**own):
    @document(("loss_",), **own)
    class Documented(MLPRegressor):
        """Summary.

        Parameters
        ----------
        {parameters}

        Attributes
        ----------
        {attributes}
        """

        def __init__(self, hidden_layer_sizes=(100,), extra=1):
            pass

    return Documented.__doc__


def test_a_parameter_without_text_fails():
    with pytest.raises(KeyError, match="'extra', which has no docstring text"):
        _subclass_doc()
    assert "extra : int, default=1\n" in _subclass_doc(extra=("int", "An extra parameter."))


def test_a_text_for_an_unknown_name_fails():
    with pytest.raises(KeyError, match=r"\['hiden_layer_sizes'\]"):
        _subclass_doc(extra=("int", "An extra parameter."), hiden_layer_sizes=("int", "A typo."))
