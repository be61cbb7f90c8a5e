"""``transform``: a fitted network's layer outputs as features. Values against a NumPy forward pass of ``coefs_`` /
``intercepts_``, every layer index and its errors, images and sparse rows, ``FrozenEstimator`` and fit-inside
pipelines, ``get_feature_names_out`` and ``set_output`` (with scikit-learn's own checks for both)."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_iris, make_blobs
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks as checks

from fastnn import CNNClassifier, MLPClassifier, MLPRegressor, NeuralNetRegressor
from fastnn.layers import BatchNorm, Dense, Tanh

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "logistic": lambda z: 1 / (1 + np.exp(-z)),
    "identity": lambda z: z,
}


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def numpy_layer_outputs(est, X):
    """Every layer output of an MLP (``[Dense, activation] * n_hidden + [Dense]``), in float64 from its weights."""
    act = ACTIVATIONS[est.activation]
    outs, h = [], np.asarray(X, np.float64)
    for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        z = h @ W.astype(np.float64) + b.astype(np.float64)
        outs.append(z)
        if i < len(est.coefs_) - 1:
            h = act(z)
            outs.append(h)
    return outs


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("make", [
    lambda dtype: MLPClassifier((7, 5), activation="relu", dtype=dtype, max_iter=30, random_state=0),
    lambda dtype: MLPRegressor(hidden_layer_sizes=(6,), activation="tanh", dtype=dtype, max_iter=30, random_state=0),
    lambda dtype: MLPClassifier((4, 3), activation="logistic", dtype=dtype, max_iter=30, random_state=0),
], ids=["classifier_relu", "regressor_tanh", "classifier_logistic"])
def test_every_layer_matches_a_numpy_forward_pass(iris, make, dtype, rtol):
    X, y = iris
    est = make(dtype).fit(X, y)
    expected = numpy_layer_outputs(est, X)
    default = est.transform(X)
    assert default.dtype == np.float64 and default.shape == (len(X), est.coefs_[-1].shape[0])
    np.testing.assert_allclose(default, expected[-2], rtol=rtol, atol=rtol)  # the last hidden activation
    for index in range(-len(expected), len(expected)):
        est.set_params(transform_layer=index)
        np.testing.assert_allclose(est.transform(X), expected[index], rtol=rtol, atol=rtol, err_msg=f"layer {index}")


def test_output_layer_is_the_logits_predict_uses(iris):
    X, y = iris
    reg = MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X, X[:, 0])
    np.testing.assert_array_equal(reg.set_params(transform_layer=-1).transform(X)[:, 0], reg.predict(X))
    clf = MLPClassifier((5,), max_iter=20, random_state=0, transform_layer=-1).fit(X, y)
    logits = clf.transform(X)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(p / p.sum(axis=1, keepdims=True), clf.predict_proba(X), rtol=1e-6, atol=1e-7)


def test_setting_the_layer_on_a_fitted_model_needs_no_refit(iris):
    X, y = iris
    clf = MLPClassifier((6, 4), max_iter=20, random_state=0).fit(X, y)
    weights = [w.copy() for w in clf.coefs_]
    assert clf.set_params(transform_layer=1).transform(X).shape == (150, 6)
    assert clf.set_params(transform_layer=None).transform(X).shape == (150, 4)
    assert all(np.array_equal(a, b) for a, b in zip(weights, clf.coefs_))


def test_images_and_rows_give_the_same_flattened_features():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((30, 1, 6, 6))
    labels = (images[:, 0, :3].mean(axis=(1, 2)) > 0).astype(int)
    cnn = CNNClassifier(conv_layers=((3, 3),), max_iter=5, random_state=0).fit(images, labels)
    features = cnn.transform(images)  # the Flatten output: 3 maps of 3 x 3 after pooling
    assert features.shape == (30, 27) and features.dtype == np.float64
    np.testing.assert_array_equal(cnn.transform(images.reshape(30, -1)), features)
    # the output layer reads exactly these features
    logits = features @ cnn.coefs_[-1].astype(np.float64) + cnn.intercepts_[-1]
    np.testing.assert_allclose(cnn.set_params(transform_layer=-1).transform(images), logits, rtol=1e-5, atol=1e-6)
    pooled = cnn.set_params(transform_layer=2).transform(images)  # MaxPool2D output, (3, 3, 3) flattened
    np.testing.assert_array_equal(pooled, features)


def test_batchnorm_stack_uses_the_running_statistics(iris):
    X, _ = iris
    reg = NeuralNetRegressor([Dense(5), BatchNorm(), Tanh()], dtype="float64", max_iter=20, random_state=0)
    reg.fit(X, X[:, 0])
    gamma, beta = reg.coefs_[1], reg.intercepts_[1]
    mean, var = reg.layer_state_
    eps = reg.network_.layers[1].eps
    z = X @ reg.coefs_[0] + reg.intercepts_[0]
    expected = np.tanh(gamma * (z - mean) / np.sqrt(var + eps) + beta)
    np.testing.assert_allclose(reg.transform(X), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(reg.transform(X[:1]), expected[:1], rtol=1e-10, atol=1e-12)  # one row alone


def test_sparse_rows_equal_dense_rows(iris):
    X, y = iris
    clf = MLPClassifier((5,), max_iter=10, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.transform(sp.csr_matrix(X)), clf.transform(X))


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("layer, match", [
    (3, r"transform_layer=3 is out of range: the network has 3 layers \(indices -3..2"),
    (-4, "transform_layer=-4 is out of range"),
    (1.0, "transform_layer must be None .* or an integer index"),
    (True, "transform_layer must be None"),
    ("hidden", "transform_layer must be None"),
])
def test_bad_layer_index_says_what_to_pass(iris, layer, match):
    X, y = iris
    clf = MLPClassifier((4,), max_iter=5, random_state=0).fit(X, y)
    clf.set_params(transform_layer=layer)
    with pytest.raises(ValueError, match=match):
        clf.transform(X)
    with pytest.raises(ValueError, match=match):
        clf.get_feature_names_out()


def test_no_hidden_layer_and_unfitted_models(iris):
    X, y = iris
    flat = MLPClassifier((), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="has no hidden layer.*transform_layer=-1"):
        flat.transform(X)
    assert flat.set_params(transform_layer=-1).transform(X).shape == (150, 3)
    with pytest.raises(NotFittedError):
        MLPClassifier().transform(X)
    with pytest.raises(NotFittedError):
        MLPClassifier().get_feature_names_out()


def test_transform_checks_its_input_like_predict(iris):
    X, y = iris
    clf = MLPClassifier((4,), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        clf.transform(X[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        clf.transform(np.full((2, 4), np.nan))


# ---------------------------------------------------------------------------------------------- pipelines
def test_frozen_model_feeds_a_second_model_without_refitting(iris):
    X, y = iris
    mlp = MLPClassifier((8,), max_iter=50, random_state=0).fit(X, y)
    before = [w.tobytes() for w in mlp.coefs_ + mlp.intercepts_]
    pipe = make_pipeline(FrozenEstimator(mlp), HistGradientBoostingClassifier(max_iter=20)).fit(X, y)
    assert [w.tobytes() for w in mlp.coefs_ + mlp.intercepts_] == before
    hgb = pipe[-1]
    np.testing.assert_array_equal(hgb.predict(mlp.transform(X)), pipe.predict(X))
    assert list(pipe[:-1].get_feature_names_out()) == [f"mlpclassifier_hidden{j}" for j in range(8)]


def test_pipeline_fits_the_network_then_the_second_model_and_searches_the_layer(iris):
    X, y = iris
    pipe = make_pipeline(MLPClassifier((6, 4), max_iter=30, random_state=0), HistGradientBoostingClassifier(max_iter=10))
    search = GridSearchCV(pipe, {"mlpclassifier__transform_layer": [None, 1]}, cv=2).fit(X, y)
    widths = {}
    for layer in (None, 1):
        fitted = clone(pipe).set_params(mlpclassifier__transform_layer=layer).fit(X, y)
        widths[layer] = fitted[-1].n_features_in_
    assert widths == {None: 4, 1: 6}
    assert search.best_params_["mlpclassifier__transform_layer"] in (None, 1)


def test_set_output_pandas_names_columns_and_keeps_the_index(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    df = pd.DataFrame(X, columns=list("abcd"), index=np.arange(100, 250))
    clf = MLPClassifier((5,), max_iter=10, random_state=0).fit(df, y).set_output(transform="pandas")
    out = clf.transform(df)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == [f"mlpclassifier_hidden{j}" for j in range(5)]
    assert list(out.index) == list(df.index)
    np.testing.assert_array_equal(out.to_numpy(), clf.set_output(transform="default").transform(df))
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        clf.get_feature_names_out(["w", "x", "y", "z"])
    pipe = make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(3,), max_iter=10, random_state=0,
                                                        transform_layer=-1)).set_output(transform="pandas")
    assert list(pipe.fit(df, y).transform(df).columns) == ["mlpregressor_output0"]


#: scikit-learn's own checks of set_output and feature names (not part of check_estimator for third-party estimators).
SKLEARN_CHECKS = [getattr(checks, name) for name in (
    "check_set_output_transform", "check_set_output_transform_pandas", "check_transformer_get_feature_names_out",
    "check_transformer_get_feature_names_out_pandas", "check_get_feature_names_out_error",
) if hasattr(checks, name)]


@pytest.mark.parametrize("check", SKLEARN_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("est", [MLPClassifier((6,), max_iter=20, random_state=0),
                                 MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, transform_layer=0, random_state=0),
                                 NeuralNetRegressor([Dense(4), Tanh()], max_iter=20, random_state=0)],
                         ids=["mlp_classifier", "mlp_regressor_layer0", "neuralnet_regressor"])
@pytest.mark.filterwarnings("ignore:X (does not have valid|has) feature names:UserWarning")  # the checks mix frames
def test_sklearn_set_output_and_feature_name_checks(est, check):
    check(type(est).__name__, est)


def test_float32_classifier_probabilities_stay_subset_invariant():
    """What check_methods_subset_invariance still asserts for float32 classifiers (it is an expected failure there
    because of transform's float32 activations): predict and predict_proba row by row equal the batch result."""
    X, y = make_blobs(n_samples=30, centers=[[0, 0, 0], [1, 1, 1]], random_state=0, n_features=2, cluster_std=0.1)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((32,), max_iter=100, random_state=0).fit(X, y)
    for method in (clf.predict, clf.predict_proba):
        rows = np.concatenate([method(row[None]) for row in X])
        np.testing.assert_allclose(rows, method(X), atol=1e-7)
