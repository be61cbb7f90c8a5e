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


# ------------------------------------------------------------------ scikit-learn ecosystem
def test_pipeline_gridsearch_cross_val_score_clone(iris):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline

    X, y = iris
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), max_iter=60,
                                                         learning_rate_init=0.02, random_state=0))
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.8
    for n_jobs in (1, 2):
        grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2]}, cv=2, n_jobs=n_jobs).fit(X, y)
        assert grid.best_score_ > 0.8
    est = MLPClassifier(hidden_layer_sizes=(5, 3), dropout=0.1, dtype="float64")
    assert clone(est).get_params() == est.get_params()


def test_pandas_input_keeps_feature_names(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = MLPClassifier(max_iter=5, random_state=0).fit(df, pd.Series(y))
    assert list(clf.feature_names_in_) == ["a", "b", "c", "d"]
    reg = MLPRegressor(max_iter=5, random_state=0).fit(df, df["a"] * 2)
    assert list(reg.feature_names_in_) == ["a", "b", "c", "d"] and reg.predict(df).shape == (150,)


def test_invalid_parameters_raise_sklearn_error(iris):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = iris
    for bad in (dict(solver="newton"), dict(activation="gelu"), dict(dropout=1.0), dict(dtype="float16"),
                dict(learning_rate_init=0.0), dict(class_weight="auto")):
        with pytest.raises(InvalidParameterError):
            MLPClassifier(**bad).fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        MLPClassifier(hidden_layer_sizes=(4, 0)).fit(X, y)
    with pytest.raises(AttributeError, match="partial_fit"):
        MLPRegressor(solver="lbfgs").partial_fit


def test_float64_dtype_and_poisson_rejects_negative_targets(iris):
    X, y = iris
    clf = MLPClassifier(max_iter=5, random_state=0, dtype=np.float64).fit(X, y)
    assert clf.coefs_[0].dtype == np.float64
    with pytest.raises(ValueError, match="non-negative"):
        MLPRegressor("poisson").fit(X, y - 1.0)
