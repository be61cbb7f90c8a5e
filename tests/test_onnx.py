"""ONNX export (``fastnn.onnx``): onnxruntime agrees with fastnn on every kind of fitted estimator and on every
layer, alone and inside a Pipeline, honouring skl2onnx's options; unsupported layers, options and opsets raise
errors naming them.

Agreement: probabilities within 1e-4 absolute of ``predict_proba`` and identical labels; regressors within
float32 rounding (the graph computes in float32, as the models do). Models are small and fitted once per module.
"""
import numpy as np
import onnxruntime as ort
import pytest
import skl2onnx
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastnn
import fastnn.onnx
from fastnn import CNNClassifier, MLPClassifier, MLPRegressor, Sequential
from fastnn.layers import (
    AvgPool2D, Conv2D, Dense, Dropout, Flatten, Identity, Layer, LeakyReLU, MaxPool2D, ReLU, Sigmoid, Tanh,
)
from fastnn.losses import SoftmaxCrossEntropy

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

PROBA_ATOL = 1e-4


@pytest.fixture(scope="module")
def digits():
    """400 rows to fit on, 120 unseen rows to compare on."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return X[:400], y[:400], X[400:520]


@pytest.fixture(scope="module")
def classifiers(digits):
    """One fitted classifier per output kind and architecture, with its (X, labels) for comparison."""
    X, y, _ = digits
    multilabel = np.c_[y >= 5, y % 2 == 0, np.isin(y, [0, 6, 8, 9])].astype(int)
    parity = np.where(y % 2 == 0, "even", "odd")
    return {
        "multiclass_relu_dropout": MLPClassifier((24, 12), dropout=0.2, max_iter=15, random_state=0).fit(X, y),
        "binary_strings_tanh": MLPClassifier((16,), activation="tanh", max_iter=15, random_state=0).fit(X, parity),
        "multilabel_logistic": MLPClassifier((16,), activation="logistic", max_iter=15, random_state=0).fit(
            X, multilabel
        ),
        "float_labels_leaky_relu": MLPClassifier((16,), activation="leaky_relu", max_iter=15, random_state=0).fit(
            X, y.astype(float) % 3
        ),
        "float64_identity": MLPClassifier((8,), activation="identity", dtype="float64", max_iter=15,
                                          random_state=0).fit(X, y),
        "cnn": CNNClassifier(((4, 3), (6, 3)), hidden_layer_sizes=(12,), dropout=0.1, max_iter=4,
                             random_state=0).fit(X, y),
        "cnn_binary_no_pool": CNNClassifier(((3, 3),), pool_size=1, activation="tanh", max_iter=4,
                                            random_state=0).fit(X, y % 2),
    }


@pytest.fixture(scope="module")
def regressors(digits):
    X, y, _ = digits
    Y = np.c_[X[:, 20:23].sum(axis=1), y / 3.0]
    counts = np.random.default_rng(0).poisson(np.exp(X[:, 30] + X[:, 36]))
    return {
        "single": MLPRegressor(hidden_layer_sizes=(16,), max_iter=20, random_state=0).fit(X, Y[:, 1]),
        "multi_output_leaky": MLPRegressor(hidden_layer_sizes=(16, 8), activation="leaky_relu", max_iter=20,
                                           random_state=0).fit(X, Y),
        "poisson": MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(
            X, counts
        ),
    }


def run(onx, X):
    """onnxruntime's outputs for ``X`` fed to the graph's single input."""
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: X})


def no_zipmap(model):
    return {id(model): {"zipmap": False}}


def assert_same_labels(onnx_labels, expected):
    expected = np.asarray(expected)
    if expected.dtype.kind == "f":
        expected = expected.astype(np.int64)  # integral float classes come out as int64 labels
    np.testing.assert_array_equal(onnx_labels, expected.astype(onnx_labels.dtype))


# ---------------------------------------------------------------------------------------------- classifiers
CLASSIFIERS = ["multiclass_relu_dropout", "binary_strings_tanh", "multilabel_logistic", "float_labels_leaky_relu",
               "float64_identity", "cnn", "cnn_binary_no_pool"]


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifier_probabilities_and_labels_agree(classifiers, digits, name):
    model, X = classifiers[name], digits[2]
    onx = skl2onnx.to_onnx(model, X[:1].astype(np.float32), options=no_zipmap(model))
    labels, proba = run(onx, X.astype(np.float32))
    expected = model.predict_proba(X)
    assert proba.dtype == np.float32 and proba.shape == expected.shape
    err = np.abs(proba - expected).max()
    assert err <= PROBA_ATOL, f"{name}: max |onnx - predict_proba| = {err:.2e}"
    assert_same_labels(labels, model.predict(X))


def test_multilabel_labels_are_an_indicator_matrix(classifiers, digits):
    model, X = classifiers["multilabel_logistic"], digits[2]
    labels, proba = run(fastnn.onnx.to_onnx(model, X, options=no_zipmap(model)), X.astype(np.float32))
    assert labels.shape == (len(X), 3) and labels.dtype == np.int64
    assert set(np.unique(labels)) <= {0, 1}
    np.testing.assert_array_equal(labels, (proba > 0.5).astype(int))


def test_cnn_accepts_images_as_well_as_rows(classifiers, digits):
    model, X = classifiers["cnn"], digits[2]
    images = X.reshape(-1, 1, 8, 8).astype(np.float32)
    labels, proba = run(fastnn.onnx.to_onnx(model, images, options=no_zipmap(model)), images)
    assert np.abs(proba - model.predict_proba(X)).max() <= PROBA_ATOL
    np.testing.assert_array_equal(labels, model.predict(X))


def test_zipmap_default_gives_one_dict_per_row(classifiers, digits):
    model, X = classifiers["binary_strings_tanh"], digits[2]
    labels, dicts = run(skl2onnx.to_onnx(model, X[:1].astype(np.float32)), X.astype(np.float32))
    expected = model.predict_proba(X)
    assert len(dicts) == len(X) and sorted(dicts[0]) == ["even", "odd"]
    got = np.array([[row["even"], row["odd"]] for row in dicts])
    assert np.abs(got - expected).max() <= PROBA_ATOL
    assert list(labels) == list(model.predict(X))


def test_zipmap_columns_gives_one_output_per_class(classifiers, digits):
    model, X = classifiers["multiclass_relu_dropout"], digits[2]
    onx = fastnn.onnx.to_onnx(model, X, options={id(model): {"zipmap": "columns"}})
    outputs = run(onx, X.astype(np.float32))
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()][1:] == [f"i{c}" for c in model.classes_]
    got = np.column_stack(outputs[1:])
    assert np.abs(got - model.predict_proba(X)).max() <= PROBA_ATOL


def test_nocl_outputs_class_indices(classifiers, digits):
    model, X = classifiers["binary_strings_tanh"], digits[2]
    onx = fastnn.onnx.to_onnx(model, X, options={id(model): {"zipmap": False, "nocl": True}})
    labels, _ = run(onx, X.astype(np.float32))
    np.testing.assert_array_equal(labels, np.searchsorted(model.classes_, model.predict(X)))


def test_double_input_is_cast_and_gives_double_probabilities(classifiers, digits):
    model, X = classifiers["cnn"], digits[2]  # onnxruntime has no float64 Conv: the graph computes in float32
    labels, proba = run(skl2onnx.to_onnx(model, X[:1], options=no_zipmap(model)), X)
    assert proba.dtype == np.float64
    assert np.abs(proba - model.predict_proba(X)).max() <= PROBA_ATOL
    np.testing.assert_array_equal(labels, model.predict(X))


def test_pipeline_with_scaler(digits):
    X, y, X_test = digits
    pipe = make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=15, random_state=0)).fit(X * 16, y)
    onx = skl2onnx.to_onnx(pipe, (X * 16)[:1].astype(np.float32), options={id(pipe): {"zipmap": False}})
    labels, proba = run(onx, (X_test * 16).astype(np.float32))
    assert np.abs(proba - pipe.predict_proba(X_test * 16)).max() <= PROBA_ATOL
    np.testing.assert_array_equal(labels, pipe.predict(X_test * 16))


def test_short_form_equals_skl2onnx(classifiers, digits):
    model, X = classifiers["multiclass_relu_dropout"], digits[2]
    short = run(fastnn.onnx.to_onnx(model, X, options=no_zipmap(model)), X.astype(np.float32))
    full = run(skl2onnx.to_onnx(model, X[:1].astype(np.float32), options=no_zipmap(model)), X.astype(np.float32))
    for a, b in zip(short, full):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------- regressors
@pytest.mark.parametrize("name", ["single", "multi_output_leaky", "poisson"])
def test_regressor_predictions_agree_to_float32_rounding(regressors, digits, name):
    model, X = regressors[name], digits[2]
    (pred,) = run(fastnn.onnx.to_onnx(model, X), X.astype(np.float32))
    expected = model.predict(X).reshape(len(X), -1)
    assert pred.dtype == np.float32 and pred.shape == expected.shape == (len(X), model.n_outputs_)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(pred, expected, rtol=1e-5, atol=1e-6 * scale, err_msg=name)


def test_poisson_regressor_predicts_positive_rates(regressors, digits):
    model, X = regressors["poisson"], digits[2]
    (pred,) = run(fastnn.onnx.to_onnx(model, X), X.astype(np.float32))
    assert model.out_activation_ == "exp" and np.all(pred > 0)


# ---------------------------------------------------------------------------------------------- every layer
def _every_layer_network():
    layers = [
        Conv2D(3, 3, stride=2, padding=1), LeakyReLU(0.2), Conv2D(4, (3, 1), padding=(1, 0)), Sigmoid(),
        MaxPool2D(2, stride=1), AvgPool2D((2, 1)), Tanh(), Flatten(), Dense(7), ReLU(), Dropout(0.5),
        Dense(5), Identity(),
    ]
    net = Sequential(layers, SoftmaxCrossEntropy()).build((2, 9, 8), np.float32, np.random.default_rng(0))
    for p in net.params:  # biases are zero for Conv2D at build: make every parameter matter
        p[...] = np.random.default_rng(p.size).normal(0, 0.5, p.shape)
    return net


def test_network_to_onnx_covers_every_layer():
    net = _every_layer_network()
    X = np.random.default_rng(1).normal(size=(11, 2, 9, 8)).astype(np.float32)
    (logits,) = run(fastnn.onnx.network_to_onnx(net), X)
    expected = net.forward(X)
    assert logits.shape == expected.shape == (11, 5)
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)
    covered = {type(layer) for layer in net.layers}
    built_in = {cls for cls in fastnn.onnx.LAYER_CONVERTERS if cls.__module__.startswith("fastnn.layers")
                and cls.__name__ not in ("BatchNorm", "GlobalAvgPool2D")}  # those have their own test below
    assert built_in <= covered, f"layers with a converter but not in this test: {built_in - covered}"


def test_network_to_onnx_opset_13():
    net = _every_layer_network()
    X = np.random.default_rng(2).normal(size=(4, 2, 9, 8)).astype(np.float32)
    onx = fastnn.onnx.network_to_onnx(net, target_opset=fastnn.onnx.MIN_OPSET)
    assert [op.version for op in onx.opset_import] == [13]
    np.testing.assert_allclose(run(onx, X)[0], net.forward(X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["BatchNorm", "GlobalAvgPool2D"])
def test_batchnorm_and_global_pooling_networks_convert(name):
    """BatchNorm (inference statistics) and GlobalAvgPool2D ((N, C, H, W) -> (N, C)) inside a network export and
    compute what the network computes."""
    import fastnn.layers

    rng = np.random.default_rng(3)
    if name == "BatchNorm":
        layers = [Conv2D(3, 3, padding=1), fastnn.layers.BatchNorm(), ReLU(), Flatten(), Dense(6),
                  fastnn.layers.BatchNorm(), Dense(4)]
    else:
        layers = [Conv2D(3, 3, padding=1), ReLU(), fastnn.layers.GlobalAvgPool2D(), Dense(4)]
    net = Sequential(layers, SoftmaxCrossEntropy()).build((2, 6, 5), np.float32, rng)
    for p in net.params:
        p[...] = rng.normal(0, 0.5, p.shape)
    for layer in net.layers:  # running statistics away from their initial 0 / 1
        if type(layer).__name__ == "BatchNorm":
            layer.running_mean[...] = rng.normal(0, 0.5, layer.running_mean.shape)
            layer.running_var[...] = rng.uniform(0.5, 2.0, layer.running_var.shape)
    X = rng.normal(size=(7, 2, 6, 5)).astype(np.float32)
    np.testing.assert_allclose(run(fastnn.onnx.network_to_onnx(net), X)[0], net.forward(X), rtol=1e-5, atol=1e-5)


def test_neural_net_estimators_export(digits):
    """NeuralNetClassifier / NeuralNetRegressor convert like the MLPs."""
    from fastnn.layers import BatchNorm, GlobalAvgPool2D

    X, y, X_test = digits
    clf = fastnn.NeuralNetClassifier(
        layers=[Conv2D(4, 3, padding=1), BatchNorm(), ReLU(), MaxPool2D(2), Conv2D(6, 3, padding=1), ReLU(),
                GlobalAvgPool2D(), Dense(12), BatchNorm(), Tanh()],
        input_shape=(1, 8, 8), max_iter=4, random_state=0,
    ).fit(X, y)
    labels, proba = run(fastnn.onnx.to_onnx(clf, X_test, options=no_zipmap(clf)), X_test.astype(np.float32))
    assert np.abs(proba - clf.predict_proba(X_test)).max() <= PROBA_ATOL
    np.testing.assert_array_equal(labels, clf.predict(X_test))
    reg = fastnn.NeuralNetRegressor(layers=[Dense(12), BatchNorm(), LeakyReLU(0.1)], loss="huber", max_iter=4,
                                    random_state=0).fit(X, y / 3.0)
    (pred,) = run(fastnn.onnx.to_onnx(reg, X_test), X_test.astype(np.float32))
    expected = reg.predict(X_test)
    np.testing.assert_allclose(pred.ravel(), expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max())


# ---------------------------------------------------------------------------------------------- errors
class ScaledTanh(Tanh):
    """A subclass the exporter must not take for a plain Tanh."""


class _ScaledTanhMLP(MLPClassifier):
    def _make_layers(self, n_features, n_outputs):
        return [ScaledTanh() if isinstance(layer, ReLU) else layer
                for layer in super()._make_layers(n_features, n_outputs)]


class Square(Layer):
    def _build(self, input_shape, rng):
        return input_shape

    def _forward(self, x, training):
        return x * x


def test_unsupported_layer_in_an_estimator_is_named(digits):
    X, y, _ = digits
    fastnn.onnx.register_estimator(_ScaledTanhMLP)
    model = _ScaledTanhMLP((4,), max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(NotImplementedError, match=r"layer 1 of _ScaledTanhMLP's network, ScaledTanh"):
        fastnn.onnx.to_onnx(model, X)


def test_unsupported_layer_in_a_network_is_named():
    net = Sequential([Dense(3), Square(), Dense(2)], SoftmaxCrossEntropy()).build((4,))
    with pytest.raises(NotImplementedError, match="Square"):
        fastnn.onnx.network_to_onnx(net)


def test_unsupported_option_is_named(classifiers, digits):
    model, X = classifiers["multiclass_relu_dropout"], digits[2]
    with pytest.raises(NameError, match="raw_scores"):
        fastnn.onnx.to_onnx(model, X, options={id(model): {"raw_scores": True}})


def test_too_old_opset_is_refused(classifiers, digits):
    model, X = classifiers["multiclass_relu_dropout"], digits[2]
    with pytest.raises(ValueError, match="target_opset >= 13, got 12"):
        fastnn.onnx.to_onnx(model, X, target_opset=12)


def test_every_exported_estimator_is_registered():
    from skl2onnx._supported_operators import sklearn_operator_name_map

    for cls in (MLPClassifier, MLPRegressor, CNNClassifier):
        assert sklearn_operator_name_map[cls] == f"Fastnn{cls.__name__}"


def test_missing_skl2onnx_says_which_extra_to_install(monkeypatch):
    import importlib
    import sys

    monkeypatch.delitem(sys.modules, "fastnn.onnx")
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # `import skl2onnx` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'fastnn\[onnx\]'"):
        importlib.import_module("fastnn.onnx")
