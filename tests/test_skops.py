"""Safe loading with skops: for every fitted fastnn estimator, after ``fit`` and after ``partial_fit`` (optimizer
moments, step count, learning rate and dropout generators in the state), ``skops.io.get_untrusted_types`` lists
only fastnn's own types (the estimator class; for ``NeuralNet*`` also its layer templates' classes), loading with exactly those types trusted predicts identically, and
``partial_fit`` after loading continues bit-identically to a run that was never saved. A file written by another
fastnn version loads with an ``InconsistentVersionWarning``."""
import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_digits

import fastnn
from fastnn import CNNClassifier, MLPClassifier, MLPRegressor
from fastnn.exceptions import InconsistentVersionWarning
from fastnn.layers import BatchNorm, Conv2D, Dense, GlobalAvgPool2D, ReLU

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    X = X[:240] / 16.0
    y = y[:240]
    return X, {"classes": y, "strings": np.where(y % 2, "odd", "even"), "regression": y / 3.0}


# name -> (estimator factory, target kind); small models, a few epochs each
MODELS = {
    "mlp_adam_dropout": (lambda: MLPClassifier((8,), dropout=0.2, max_iter=3, random_state=0), "classes"),
    "mlp_sgd_nesterov_strings": (
        lambda: MLPClassifier((8,), solver="sgd", learning_rate="invscaling", learning_rate_init=0.1, max_iter=3,
                              random_state=0), "strings"),
    "mlp_lbfgs": (lambda: MLPClassifier((8,), solver="lbfgs", max_iter=5, random_state=0), "classes"),
    "mlp_early_stopping": (lambda: MLPClassifier((8,), early_stopping=True, max_iter=3, random_state=0), "classes"),
    "regressor_rmsprop": (lambda: MLPRegressor(hidden_layer_sizes=(8,), solver="rmsprop", max_iter=3,
                                               random_state=0), "regression"),
    "regressor_poisson_float64": (lambda: MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), dtype="float64",
                                                       max_iter=3, random_state=0), "regression"),
    "cnn_adamw": (lambda: CNNClassifier(((2, 3),), hidden_layer_sizes=(6,), solver="adamw", dropout=0.1,
                                        max_iter=2, random_state=0), "classes"),
}
# NeuralNet* estimators: their layer templates are pickled too.
MODELS["neuralnet_conv_batchnorm"] = (
    lambda: fastnn.NeuralNetClassifier(layers=[Conv2D(2, 3, padding=1), BatchNorm(), ReLU(), GlobalAvgPool2D()],
                                       input_shape=(1, 8, 8), max_iter=2, random_state=0), "classes")
MODELS["neuralnet_regressor_huber"] = (
    lambda: fastnn.NeuralNetRegressor(layers=[Dense(8), BatchNorm(), ReLU()], loss="huber", max_iter=3,
                                      random_state=0), "regression")
PARTIAL_FIT = [name for name in MODELS if name not in ("mlp_lbfgs", "mlp_early_stopping")]


def _fitted(data, name, how):
    """A fresh estimator after ``fit`` or after two ``partial_fit`` calls on halves of the data."""
    X, targets = data
    make, kind = MODELS[name]
    est, y = make(), targets[kind]
    if how == "fit":
        return est.fit(X, y)
    extra = {"classes": np.unique(y)} if kind != "regression" else {}
    est.partial_fit(X[::2], y[::2], **extra)
    return est.partial_fit(X[1::2], y[1::2])


def _qualname(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _round_trip(est):
    data = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=data)
    return sio.loads(data, trusted=untrusted), untrusted


def _weights(est):
    return [a.tobytes() for a in est.coefs_ + est.intercepts_]


def _outputs(est, X):
    outs = [est.predict(X)]
    if hasattr(est, "predict_proba"):
        outs.append(est.predict_proba(X))
    return outs


CASES = [(name, "fit") for name in MODELS] + [(name, "partial_fit") for name in PARTIAL_FIT]


@pytest.mark.parametrize("name,how", CASES)
def test_only_fastnn_types_are_untrusted_and_predictions_survive(data, name, how):
    est = _fitted(data, name, how)
    loaded, untrusted = _round_trip(est)
    # the estimator's class, and the classes of the layer templates a NeuralNet* holds as its `layers` parameter
    expected = {_qualname(type(est))} | {_qualname(type(layer)) for layer in getattr(est, "layers", None) or []}
    assert sorted(untrusted) == sorted(expected), untrusted
    assert type(loaded) is type(est) and _weights(loaded) == _weights(est)
    for got, expected in zip(_outputs(loaded, data[0]), _outputs(est, data[0])):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", PARTIAL_FIT)
@pytest.mark.parametrize("how", ["fit", "partial_fit"])
def test_partial_fit_after_loading_continues_bit_identically(data, name, how):
    X, targets = data
    y = targets[MODELS[name][1]]
    loaded, _ = _round_trip(_fitted(data, name, how))
    uninterrupted = _fitted(data, name, how)
    for est in (loaded, uninterrupted):
        est.partial_fit(X[:120], y[:120])
        est.partial_fit(X[120:], y[120:])
    assert _weights(loaded) == _weights(uninterrupted)
    assert loaded._optimizer.t == uninterrupted._optimizer.t
    assert loaded.loss_curve_ == uninterrupted.loss_curve_


def test_file_from_another_fastnn_version_warns_and_loads(data, monkeypatch, tmp_path):
    est = _fitted(data, "mlp_adam_dropout", "fit")
    monkeypatch.setattr(fastnn._version, "__version__", "0.0.1")  # the version a file records is fastnn.__version__
    sio.dump(est, tmp_path / "model.skops")
    monkeypatch.undo()
    untrusted = sio.get_untrusted_types(file=tmp_path / "model.skops")
    with pytest.warns(InconsistentVersionWarning, match="from fastnn version 0.0.1 when using version"):
        loaded = sio.load(tmp_path / "model.skops", trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(data[0]), est.predict_proba(data[0]))


def test_loading_without_trusting_fastnn_refuses(data):
    dumped = sio.dumps(_fitted(data, "mlp_adam_dropout", "fit"))
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException, match="MLPClassifier"):
        sio.loads(dumped)
