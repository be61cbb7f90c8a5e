"""NeuralNetClassifier / NeuralNetRegressor: any layer stack behind the scikit-learn face.

A conv + BatchNorm stack on 8x8 digits (one fitted model shared by the module), inference-mode BatchNorm, the
templates as hyperparameters (never built, clone independence, GridSearchCV over stacks with n_jobs=2), the MLP and
CNN presets equal to the same stacks bit for bit, persistence of every layer's parameters and of the BatchNorm
running statistics (pickle, partial_fit, warm_start, failed fits), the robust regression losses, and the errors for
stacks that cannot take the input."""
import copy
import io
import pickle

import joblib

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split

from fastnn import CNNClassifier, MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor
from fastnn.estimators.stack import init_from_random_state
from fastnn.gradcheck import numerical_gradient, relative_error
from fastnn.layers import BatchNorm, Conv2D, Dense, Dropout, Flatten, GlobalAvgPool2D, MaxPool2D, ReLU, Tanh
from fastnn.losses import SoftmaxCrossEntropy
from fastnn.network import Sequential

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def conv_bn_stack():
    """A conv block and a dense block, each with BatchNorm: per-channel (N, C, H, W) and per-feature (N, F)."""
    return [Conv2D(16, 3, padding="same"), BatchNorm(), ReLU(), MaxPool2D(2), Flatten(), Dense(64), BatchNorm(), ReLU()]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def bn_model(digits):
    Xtr, _, ytr, _ = digits
    return NeuralNetClassifier(
        conv_bn_stack(), input_shape=(1, 8, 8), batch_size=64, max_iter=5, learning_rate_init=0.01, random_state=0
    ).fit(Xtr, ytr)


def _arrays(est):
    return est.coefs_ + est.intercepts_ + getattr(est, "layer_state_", [])


def _assert_same_model(a, b, what):
    assert len(_arrays(a)) == len(_arrays(b)), what
    for x, z in zip(_arrays(a), _arrays(b)):
        assert x.dtype == z.dtype and x.tobytes() == z.tobytes(), what


# ---------------------------------------------------------------------------------------------- the conv + BN stack
def test_conv_batchnorm_stack_reaches_97_percent_on_digits(bn_model, digits):
    _, Xte, _, yte = digits
    assert bn_model.score(Xte, yte) >= 0.97
    assert bn_model.input_shape_ == (1, 8, 8)
    # Conv2D W/b, BatchNorm gamma/beta (16 channels), Dense W/b, BatchNorm gamma/beta (64), output Dense W/b
    assert [c.shape for c in bn_model.coefs_] == [(16, 1, 3, 3), (16,), (256, 64), (64,), (64, 10)]
    assert [s.shape for s in bn_model.layer_state_] == [(16,), (16,), (64,), (64,)]
    mean, var = bn_model.layer_state_[0], bn_model.layer_state_[1]
    assert np.any(mean != 0) and np.any(var != 1), "training did not update the running statistics"


def test_batchnorm_normalises_a_row_alone_exactly_as_in_a_batch(bn_model, digits):
    """Inference uses the running statistics, so each BatchNorm maps a row alone to exactly (bitwise) what it maps
    that row to inside a batch; in training mode (batch statistics) the same row would come out differently."""
    _, Xte, _, _ = digits
    net = bn_model._network()
    batch = Xte[:40].reshape(40, 1, 8, 8).astype(np.float32)
    for index in (0, 17, 39):
        out_batch, out_row = batch, batch[index : index + 1]
        for layer in net.layers:
            if isinstance(layer, BatchNorm):
                assert np.array_equal(layer.forward(out_batch)[index : index + 1], layer.forward(out_row))
            out_batch = layer.forward(out_batch)
            out_row = out_batch[index : index + 1]  # the next layer sees identical inputs
    bn = net.layers[1]
    x = net.layers[0].forward(batch)
    training_copy = copy.deepcopy(bn)  # a training forward updates the running statistics: keep the model's intact
    assert not np.allclose(training_copy.forward(x, training=True), bn.forward(x))


def test_predicting_one_row_alone_matches_the_batch(bn_model, digits):
    """Estimator level: the same class, and probabilities equal up to the batch-shape dependence of BLAS GEMM in
    the dense layers (1-2 float32 ulps; the BatchNorm part is exact, above)."""
    _, Xte, _, _ = digits
    proba = bn_model.predict_proba(Xte[:30])
    for i in range(30):
        alone = bn_model.predict_proba(Xte[i : i + 1])
        np.testing.assert_allclose(alone[0], proba[i], rtol=0, atol=1e-6)
        assert bn_model.predict(Xte[i : i + 1])[0] == bn_model.classes_[np.argmax(proba[i])]


def test_images_as_4d_x_and_rows_with_input_shape_give_the_same_model(digits):
    Xtr, Xte, ytr, _ = digits
    kw = dict(max_iter=2, batch_size=64, random_state=1)
    rows = NeuralNetClassifier([Conv2D(4, 3), BatchNorm(), ReLU(), GlobalAvgPool2D()], input_shape=(1, 8, 8), **kw)
    images = NeuralNetClassifier([Conv2D(4, 3), BatchNorm(), ReLU(), GlobalAvgPool2D()], **kw)
    rows.fit(Xtr, ytr)
    images.fit(Xtr.reshape(-1, 1, 8, 8), ytr)
    assert images.input_shape_ == rows.input_shape_ == (1, 8, 8)
    _assert_same_model(rows, images, "4-D X and rows + input_shape")
    np.testing.assert_array_equal(images.predict_proba(Xte.reshape(-1, 1, 8, 8)), rows.predict_proba(Xte))
    with pytest.raises(ValueError, match=r"samples of shape \(1, 4, 16\)"):
        images.predict(Xte.reshape(-1, 1, 4, 16))


# ---------------------------------------------------------------------------------------------- presets
def test_mlp_classifier_is_the_neural_net_with_its_layer_list(digits):
    Xtr, Xte, ytr, _ = digits
    kw = dict(max_iter=3, random_state=0, batch_size=50, alpha=1e-3)
    mlp = MLPClassifier((12, 7), activation="tanh", dropout=0.2, **kw).fit(Xtr, ytr)
    net = NeuralNetClassifier([Dense(12), Tanh(), Dense(7), Tanh()], dropout=0.2, **kw).fit(Xtr, ytr)
    _assert_same_model(mlp, net, "NeuralNetClassifier([Dense(12), Tanh(), Dense(7), Tanh()]) vs MLPClassifier")
    assert mlp.loss_curve_ == net.loss_curve_
    np.testing.assert_array_equal(mlp.predict_proba(Xte), net.predict_proba(Xte))
    default_mlp = MLPClassifier(max_iter=2, random_state=0).fit(Xtr, ytr)
    default_net = NeuralNetClassifier(max_iter=2, random_state=0).fit(Xtr, ytr)  # layers=None: [Dense(100), ReLU()]
    _assert_same_model(default_mlp, default_net, "default stacks")


def test_mlp_regressor_is_the_neural_net_with_its_layer_list(digits):
    Xtr, _, ytr, _ = digits
    kw = dict(max_iter=3, random_state=0, loss="huber", huber_delta=2.0, solver="sgd", learning_rate_init=0.01)
    mlp = MLPRegressor(hidden_layer_sizes=(9,), **kw).fit(Xtr, ytr.astype(float))
    net = NeuralNetRegressor([Dense(9), ReLU()], **kw).fit(Xtr, ytr.astype(float))
    _assert_same_model(mlp, net, "NeuralNetRegressor([Dense(9), ReLU()]) vs MLPRegressor((9,))")
    assert mlp.loss_curve_ == net.loss_curve_


def test_cnn_classifier_is_the_neural_net_with_its_layer_list(digits):
    Xtr, _, ytr, _ = digits
    kw = dict(max_iter=2, random_state=0, batch_size=64, input_shape=(1, 8, 8))
    cnn = CNNClassifier(conv_layers=((4, 3),), hidden_layer_sizes=(8,), **kw).fit(Xtr, ytr)
    stack = [Conv2D(4, 3, padding="same"), ReLU(), MaxPool2D(2), Flatten(), Dense(8), ReLU()]
    net = NeuralNetClassifier(stack, **kw).fit(Xtr, ytr)
    _assert_same_model(cnn, net, "CNNClassifier vs NeuralNetClassifier with its layers")


def test_initial_weights_follow_each_layers_init_rule():
    """``init_from_random_state`` against the rules written out here: He-uniform Conv2D with zero bias, Dense
    'he' with zero bias, Dense 'glorot' on weights and biases, drawn in stack order from one RandomState;
    BatchNorm draws nothing (gamma 1, beta 0)."""
    net = Sequential([Conv2D(3, 3), BatchNorm(), Flatten(), Dense(5, init="he"), Dense(4)], SoftmaxCrossEntropy())
    net.build((2, 5, 5), np.float64, np.random.default_rng(0))
    init_from_random_state(net, np.random.RandomState(7))
    rs = np.random.RandomState(7)
    conv = rs.uniform(-np.sqrt(6 / 18), np.sqrt(6 / 18), (3, 2, 3, 3))
    he = rs.uniform(-np.sqrt(6 / 27), np.sqrt(6 / 27), (27, 5))
    r = np.sqrt(6 / (5 + 4))
    glorot_W, glorot_b = rs.uniform(-r, r, (5, 4)), rs.uniform(-r, r, 4)
    expected = [conv, np.zeros(3), np.ones(3), np.zeros(3), he, np.zeros(5), glorot_W, glorot_b]
    for got, want in zip(net.params, expected):
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------------------------- templates
def test_templates_are_never_built_and_clones_are_independent(digits):
    Xtr, _, ytr, _ = digits
    relu = ReLU()
    templates = [Dense(8), BatchNorm(), relu, Dense(6), relu]  # the same object twice: two independent layers
    est = NeuralNetClassifier(templates, max_iter=2, random_state=0)
    twin = clone(est)
    assert twin.layers is not est.layers and all(a is not b for a, b in zip(twin.layers, est.layers))
    est.fit(Xtr, ytr)
    assert all(layer.dtype is None and layer.params == [] for layer in templates), "fit built the templates"
    assert est.layers is templates and est.layers[2] is relu
    assert len(est._network().layers) == 6
    before = [a.copy() for a in _arrays(est)]
    twin.set_params(random_state=1).fit(Xtr[:300], ytr[:300])
    assert all(np.array_equal(a, b) for a, b in zip(_arrays(est), before)), "fitting the clone changed the original"
    assert not np.array_equal(twin.coefs_[0], est.coefs_[0])
    refit = clone(est).fit(Xtr, ytr)
    _assert_same_model(est, refit, "a clone refit on the same data")


def test_grid_search_over_stacks_in_parallel(digits):
    Xtr, _, ytr, _ = digits
    grid = {"layers": [[Dense(16), ReLU()], [Dense(16), BatchNorm(), ReLU()], [Dense(8), Tanh(), Dense(8), ReLU()]]}
    est = NeuralNetClassifier(max_iter=4, random_state=0, batch_size=64, learning_rate_init=0.01)
    parallel = GridSearchCV(est, grid, cv=2, n_jobs=2).fit(Xtr, ytr)
    serial = GridSearchCV(est, grid, cv=2, n_jobs=1).fit(Xtr, ytr)
    np.testing.assert_array_equal(parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])
    assert len(parallel.cv_results_["params"]) == 3
    assert all(layer.dtype is None for stack in grid["layers"] for layer in stack)
    best = parallel.best_estimator_
    assert repr(best.layers) == repr(grid["layers"][parallel.best_index_])
    assert best.score(Xtr, ytr) > 0.8


def test_pickle_holds_the_templates_and_arrays_only(bn_model, digits):
    _, Xte, _, _ = digits
    data = pickle.dumps(bn_model)
    for forbidden in (b"numba", b"CPUDispatcher", b"fastnn.kernels", b"fastnn.network", b"Sequential"):
        assert forbidden not in data, forbidden
    referenced = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            referenced.add(module)
            return super().find_class(module, name)

    loaded = Recorder(io.BytesIO(data)).load()
    allowed = ("builtins", "copyreg", "_codecs", "numpy", "sklearn.preprocessing", "fastnn.estimators.neural_net",
               "fastnn.layers.")  # the last: the classes of the unbuilt templates in the `layers` hyperparameter
    assert all(module.startswith(allowed) for module in referenced), sorted(referenced)
    assert all(layer.dtype is None and layer.params == [] for layer in loaded.layers), "pickled built layers"
    assert "_net" not in vars(loaded)
    np.testing.assert_array_equal(loaded.predict_proba(Xte), bn_model.predict_proba(Xte))


# ---------------------------------------------------------------------------------------------- persistence
def _small_bn(**kw):
    params = dict(input_shape=(1, 8, 8), batch_size=50, max_iter=2, random_state=0)
    return NeuralNetClassifier([Conv2D(4, 3), BatchNorm(), ReLU(), Flatten(), Dense(6), BatchNorm(), Tanh()],
                               **{**params, **kw})


def _joblib_mmap(est, tmp_path):
    joblib.dump(est, tmp_path / "model.joblib")
    return joblib.load(tmp_path / "model.joblib", mmap_mode="r")  # read-only memory-mapped arrays


@pytest.mark.parametrize("solver, trip", [("adam", "pickle"), ("sgd", "pickle"), ("adam", "joblib_mmap")])
def test_partial_fit_after_a_round_trip_continues_bit_identically(digits, solver, trip, tmp_path):
    Xtr, _, ytr, _ = digits
    original = _small_bn(solver=solver, learning_rate_init=0.01).fit(Xtr, ytr)
    loaded = pickle.loads(pickle.dumps(original)) if trip == "pickle" else _joblib_mmap(original, tmp_path)
    for step in range(2):
        original.partial_fit(Xtr, ytr)
        loaded.partial_fit(Xtr, ytr)
        _assert_same_model(original, loaded, f"partial_fit #{step + 1} after the round trip")


def test_warm_start_continues_from_the_running_statistics(digits):
    Xtr, _, ytr, _ = digits
    two_then_two = _small_bn(warm_start=True).fit(Xtr, ytr)
    state_after_two = [s.copy() for s in two_then_two.layer_state_]
    two_then_two.fit(Xtr, ytr)
    assert not all(np.array_equal(a, b) for a, b in zip(state_after_two, two_then_two.layer_state_))
    restarted = _small_bn(warm_start=True).fit(Xtr, ytr)
    pickled = pickle.loads(pickle.dumps(restarted))
    pickled.fit(Xtr, ytr)  # warm start from an unpickled model: its running statistics come back from the pickle
    _assert_same_model(two_then_two, pickled, "warm_start after a round trip")


def test_failed_partial_fit_restores_the_running_statistics(digits):
    Xtr, _, ytr, _ = digits
    est = _small_bn(learning_rate_init=0.01).fit(Xtr, ytr)
    before = [a.copy() for a in _arrays(est)]
    with pytest.raises(ValueError, match="non-finite"):
        est.partial_fit(np.full_like(Xtr, 3e38), ytr)
    assert all(np.array_equal(a, b) for a, b in zip(_arrays(est), before))


def test_early_stopping_keeps_the_running_statistics_of_the_best_epoch(digits):
    Xtr, _, ytr, _ = digits
    est = _small_bn(early_stopping=True, max_iter=6, n_iter_no_change=2).fit(Xtr, ytr)
    np.testing.assert_array_equal(np.concatenate(est.layer_state_), est._best_state)
    np.testing.assert_array_equal(est._network().flat_params, est._best_params)


# ---------------------------------------------------------------------------------------------- robust losses
@pytest.fixture(scope="module")
def outliers():
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, (600, 1))
    y = np.sin(X[:, 0]) + 0.1 * rng.standard_normal(600)
    Xtr, ytr, Xte, yte = X[:400], y[:400].copy(), X[400:], y[400:]
    spoiled = rng.random(400) < 0.15
    ytr[spoiled] += rng.uniform(5, 15, spoiled.sum())  # 15% of the training targets far off, test set clean
    return Xtr, ytr, Xte, yte


@pytest.mark.parametrize("cls", [NeuralNetRegressor, MLPRegressor])
def test_huber_beats_squared_error_on_held_out_data_with_outliers(outliers, cls):
    Xtr, ytr, Xte, yte = outliers

    def held_out_mse(loss):
        layers = dict(layers=[Dense(32), Tanh()]) if cls is NeuralNetRegressor else dict(hidden_layer_sizes=(32,),
                                                                                         activation="tanh")
        model = cls(**layers, loss=loss, huber_delta=0.3, max_iter=300, learning_rate_init=0.01, random_state=0)
        return np.mean((model.fit(Xtr, ytr).predict(Xte) - yte) ** 2)

    squared, huber, absolute = held_out_mse("squared_error"), held_out_mse("huber"), held_out_mse("absolute_error")
    assert huber < 0.05 and absolute < 0.05, (huber, absolute)
    assert squared > 10 * huber, (squared, huber)


@pytest.mark.parametrize("loss", ["huber", "absolute_error"])
def test_estimator_objective_gradient_matches_central_differences(loss):
    """The network the regressor builds (BatchNorm in training mode, robust loss, L2 penalty) against central
    differences of its own objective, in float64. Residuals stay away from the kinks (|r| = delta, r = 0)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 3))
    y = rng.standard_normal((12, 2)) * 3
    est = NeuralNetRegressor([Dense(5), BatchNorm(), Tanh()], loss=loss, huber_delta=0.7, dtype=np.float64,
                             max_iter=1, random_state=0, alpha=0.1)
    est.fit(X, y)
    net = est._network()
    w = rng.uniform(0.5, 2.0, 12)

    def objective():
        return net.loss_and_grad(X, y, w, l2=0.1 / 12)

    objective()
    residual = net.forward(X, training=True) - y
    assert np.min(np.abs(residual)) > 1e-3 and np.min(np.abs(np.abs(residual) - 0.7)) > 1e-3
    analytic = net.flat_grads.copy()
    numeric = numerical_gradient(objective, net.flat_params)
    # The first Dense's bias has gradient exactly 0 (BatchNorm removes any shift): compare with an absolute floor.
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    assert relative_error(analytic[np.abs(numeric) > 1e-6], numeric[np.abs(numeric) > 1e-6]) < 1e-6


def test_huber_delta_reaches_the_loss_and_is_validated():
    X, y = np.random.default_rng(0).standard_normal((20, 2)), np.arange(20.0)
    est = NeuralNetRegressor([Dense(3), ReLU()], loss="huber", huber_delta=0.25, max_iter=1).fit(X, y)
    assert est._network().loss.delta == 0.25
    with pytest.raises(ValueError, match="huber_delta"):
        NeuralNetRegressor(loss="huber", huber_delta=0.0).fit(X, y)
    with pytest.raises(ValueError, match="loss"):
        MLPRegressor(loss="epsilon_insensitive").fit(X, y)


# ---------------------------------------------------------------------------------------------- bad stacks
def test_conv_on_flat_rows_names_the_layer_and_both_shapes(digits):
    Xtr, _, ytr, _ = digits
    with pytest.raises(ValueError, match=r"layers\[1\] \(Conv2D.*\(64,\).*\(C, H, W\).*input_shape"):
        NeuralNetClassifier([Dense(64), Conv2D(4, 3), ReLU()]).fit(Xtr, ytr)
    with pytest.raises(ValueError, match=r"output layer.*\(4, 6, 6\).*\(n_features,\).*Flatten"):
        NeuralNetClassifier([Conv2D(4, 3), ReLU()], input_shape=(1, 8, 8)).fit(Xtr, ytr)
    with pytest.raises(ValueError, match=r"layers\[3\] \(MaxPool2D.*\(72,\)"):
        NeuralNetClassifier([Conv2D(2, 3), ReLU(), Flatten(), MaxPool2D(2)], input_shape=(1, 8, 8),
                            dropout=0.1).fit(Xtr, ytr)


@pytest.mark.parametrize("bad, message", [
    ([Dense(4), ReLU], r"layers\[1\] is the class ReLU.*ReLU\(\)"),
    ([Dense(4), "relu"], r"layers\[1\] is 'relu' \(of type str\), not a fastnn layer"),
    ([Dense(4), None], r"layers\[1\] is None"),
])
def test_anything_but_a_fastnn_layer_is_rejected(digits, bad, message):
    Xtr, _, ytr, _ = digits
    est = NeuralNetClassifier(bad, max_iter=1)
    with pytest.raises(ValueError, match=message):
        est.fit(Xtr, ytr)
    assert not hasattr(est, "coefs_")


def test_dropout_parameter_inserts_dropout_after_each_activation(digits):
    Xtr, _, ytr, _ = digits
    est = NeuralNetClassifier([Dense(8), ReLU(), Dense(8), Tanh()], dropout=0.3, max_iter=1).fit(Xtr, ytr)
    kinds = [type(layer).__name__ for layer in est._network().layers]
    assert kinds == ["Dense", "ReLU", "Dropout", "Dense", "Tanh", "Dropout", "Dense"]
    assert all(layer.rate == 0.3 for layer in est._network().layers if isinstance(layer, Dropout))


def test_a_last_batch_of_one_row_joins_the_batch_before_it_under_feature_batchnorm():
    """With a feature BatchNorm, 201 rows in batches of 200 would leave one row alone (no variance): that row trains
    in the batch before it (one step per epoch, every row used), instead of failing the fit."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((201, 4)), rng.integers(0, 2, 201)
    est = NeuralNetClassifier([Dense(8), BatchNorm(), ReLU()], max_iter=3, random_state=0, shuffle=False).fit(X, y)
    assert est._optimizer.t == 3  # one step per epoch: the 201st row joined the first batch
    plain = NeuralNetClassifier([Dense(8), ReLU()], max_iter=3, random_state=0, shuffle=False).fit(X, y)
    assert plain._optimizer.t == 6  # without BatchNorm the last row is its own batch, as in scikit-learn
    with pytest.raises(ValueError, match="at least 2 samples"):
        NeuralNetClassifier([Dense(8), BatchNorm(), ReLU()], random_state=0).partial_fit(X[:1], y[:1], classes=[0, 1])


def test_fused_true_runs_a_batchnorm_stack_layer_by_layer(digits):
    Xtr, _, ytr, _ = digits
    kw = dict(max_iter=2, random_state=0, batch_size=64)
    fused = NeuralNetClassifier([Dense(8), BatchNorm(), ReLU()], fused=True, **kw).fit(Xtr, ytr)
    layered = NeuralNetClassifier([Dense(8), BatchNorm(), ReLU()], fused=False, **kw).fit(Xtr, ytr)
    assert fused._net.fused_epochs == 0
    _assert_same_model(fused, layered, "fused=True on a BatchNorm stack")


def test_early_stopping_on_a_scorer_with_a_given_validation_set_restores_the_best_stack(digits):
    """The NeuralNet estimators take scoring and fit(X_val=, y_val=) like the presets: the best validation score is
    the restored model's score on X_val, and BatchNorm's running statistics are those of that epoch."""
    from sklearn.metrics import log_loss

    X_train, X_test, y_train, y_test = digits
    est = NeuralNetClassifier([Dense(32), BatchNorm(), ReLU()], early_stopping=True, scoring="neg_log_loss",
                              max_iter=8, n_iter_no_change=2, random_state=0)
    est.fit(X_train, y_train, X_val=X_test, y_val=y_test)
    assert len(est.validation_scores_) == est.n_iter_
    np.testing.assert_allclose(est.best_validation_score_, -log_loss(y_test, est.predict_proba(X_test)), rtol=1e-6)
