"""With a real scikit-learn that predates ``sklearn.callback`` (1.7, 1.8: CI's oldest-dependency run), fastnn's
estimators import, fit, and say which version ``set_callbacks`` needs. (tests/test_callbacks.py fakes the absence
with a newer scikit-learn.)"""
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning

from fastnn import MLPClassifier
from fastnn.training.callbacks import sklearn_callback_module

pytestmark = pytest.mark.skipif(sklearn_callback_module() is not None,
                                reason=f"scikit-learn {sklearn.__version__} has sklearn.callback")


def test_old_sklearn_has_no_set_callbacks_and_fits():
    X = np.random.default_rng(0).normal(size=(30, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = MLPClassifier((4,), max_iter=2, random_state=0)
    assert not hasattr(clf, "set_callbacks")
    with pytest.raises(AttributeError, match=rf"needs scikit-learn >= 1\.9.*{sklearn.__version__} is installed"):
        clf.set_callbacks()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert clf.fit(X, y).n_iter_ == 2
