"""MLPClassifier / MLPRegressor: core behaviour and scikit-learn semantics (small data, shared fits)."""
import numpy as np
import pytest
from sklearn.datasets import load_iris, make_regression
from sklearn.preprocessing import StandardScaler

from fastnn import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_classifier_adam_float32_fit_predict_proba(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert clf.coefs_[0].dtype == np.float32
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert clf.score(X, y) > 0.95
    assert clf.out_activation_ == "softmax" and clf.n_layers_ == 3 and clf.n_outputs_ == 3


def test_regressor_adam_float32_fit_predict():
    X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=400, learning_rate_init=0.01, random_state=0)
    reg.fit(X, y / y.std())
    assert reg.predict(X).shape == (200,)
    assert reg.score(X, y / y.std()) > 0.9
