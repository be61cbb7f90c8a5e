"""Every layer and loss against central differences in float64, and the layer contract."""
import numpy as np
import pytest

from fastnn import layers as L
from fastnn import losses
from fastnn.gradcheck import check_layer, numerical_gradient, relative_error

SHAPES = [(5,), (3,), (2, 3, 4)]


def make(name):
    return {
        "identity": L.Identity, "relu": L.ReLU, "logistic": L.Sigmoid, "tanh": L.Tanh,
        "leaky_relu": lambda: L.LeakyReLU(0.1), "flatten": L.Flatten,
    }[name]()


@pytest.mark.parametrize("n_out", [1, 4])
@pytest.mark.parametrize("n_in", [1, 6])
def test_dense_gradcheck(n_in, n_out):
    errors = check_layer(L.Dense(n_out), (n_in,), batch_size=4)
    assert set(errors) == {"x", "param0", "param1"}
    assert max(errors.values()) < 1e-6, errors


def test_dense_gradcheck_with_decay():
    layer = L.Dense(3)
    layer.build((4,), np.float64, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((5, 4))
    dout = np.random.default_rng(2).standard_normal((5, 3))
    layer.forward(x, training=True)
    layer.backward(dout, l2=0.7)

    def objective():  # sum(out * dout) + 0.5 * l2 * ||W||^2
        return float(np.sum(layer.forward(x, training=True) * dout) + 0.35 * np.sum(layer.W**2))

    assert relative_error(layer.dW.copy(), numerical_gradient(objective, layer.W)) < 1e-6


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", ["identity", "relu", "leaky_relu", "logistic", "tanh", "flatten"])
def test_elementwise_layer_gradcheck(name, shape):
    x = np.random.default_rng(3).standard_normal((4, *shape))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the ReLU kink, where the derivative is undefined
    errors = check_layer(make(name), shape, x=x)
    assert errors["x"] < 1e-6, errors


def test_dropout_gradcheck_with_fixed_mask():
    layer = L.Dropout(0.4)
    layer.build((10,), np.float64, np.random.default_rng(0))

    class FixedSeed:  # the same mask on every forward, so finite differences see one function
        def integers(self, high):
            return 7

    layer._rng = FixedSeed()
    errors = check_layer(layer, (10,), batch_size=6)
    assert errors["x"] < 1e-6, errors
    out = layer.forward(np.ones((6, 10)), training=True)
    assert 0 < np.count_nonzero(out == 0) < out.size  # some units dropped, some kept
    np.testing.assert_array_equal(layer.forward(np.ones((6, 10))), np.ones((6, 10)))  # identity at inference


def test_dropout_rng_state_restores_the_masks():
    layer = L.Dropout(0.5)
    assert layer.rng_state is None  # not built: no generator yet
    layer.build((20,), np.float64, np.random.default_rng(0))
    state = layer.rng_state
    first = layer.forward(np.ones((4, 20)), training=True).copy()
    second = layer.forward(np.ones((4, 20)), training=True).copy()
    assert not np.array_equal(first, second)  # each forward draws a new mask
    layer.rng_state = state
    np.testing.assert_array_equal(layer.forward(np.ones((4, 20)), training=True), first)


def test_first_layer_skips_input_gradient():
    layer = L.Dense(2)
    layer.build((3,), np.float64, np.random.default_rng(0))
    layer.input_grad = False
    layer.forward(np.ones((4, 3)), training=True)
    assert layer.backward(np.ones((4, 2))) is None
    np.testing.assert_allclose(layer.db, [4.0, 4.0])


def test_layers_accept_any_layout_and_dtype_and_cast_to_their_own():
    layer = L.Dense(3)
    layer.build((4,), np.float32, np.random.default_rng(0))
    x = np.asfortranarray(np.arange(20, dtype=np.int64).reshape(5, 4))
    out = layer.forward(x[::1])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x.astype(np.float64) @ layer.W + layer.b, rtol=1e-5)
    strided = np.arange(40.0).reshape(10, 4)[::2]
    np.testing.assert_allclose(layer.forward(strided), strided @ layer.W + layer.b, rtol=1e-5)


def test_training_buffers_are_reused_and_inference_allocates():
    layer = L.Dense(3)
    layer.build((2,), np.float64, np.random.default_rng(0))
    a = layer.forward(np.ones((8, 2)), training=True)
    b = layer.forward(np.ones((5, 2)), training=True)  # a smaller batch reuses the same memory
    assert np.shares_memory(a, b)
    c = layer.forward(np.ones((8, 2)))
    assert not np.shares_memory(a, c)


def test_bad_layer_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="n_out"):
        L.Dense(0)
    with pytest.raises(ValueError, match="rate"):
        L.Dropout(1.0)
    with pytest.raises(ValueError, match="negative_slope"):
        L.LeakyReLU(-1)
    layer = L.Dense(2)
    layer.build((3,), np.float64)
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        layer.forward(np.ones((4, 5)))


def test_glorot_bounds_match_scikit_learn():
    for init, factor in [("glorot", 6.0), ("glorot_logistic", 2.0)]:
        layer = L.Dense(300, init=init)
        layer.build((200,), np.float64, np.random.default_rng(0))
        bound = np.sqrt(factor / 500)
        assert np.abs(layer.W).max() <= bound and np.abs(layer.W).max() > 0.99 * bound
        assert np.abs(layer.b).max() <= bound


LOSS_CASES = {
    "softmax_onehot": (losses.SoftmaxCrossEntropy, lambda r: np.eye(4)[r.integers(0, 4, 6)]),
    "softmax_labels": (losses.SoftmaxCrossEntropy, lambda r: r.integers(0, 4, 6)),
    "softmax_soft_targets": (losses.SoftmaxCrossEntropy, lambda r: r.dirichlet(np.ones(4), 6)),
    "sigmoid": (losses.SigmoidCrossEntropy, lambda r: r.integers(0, 2, (6, 4)).astype(float)),
    "squared": (losses.SquaredError, lambda r: r.standard_normal((6, 4))),
    "poisson": (losses.PoissonLoss, lambda r: r.poisson(1.5, (6, 4)).astype(float)),
}


def test_dense_and_conv_report_the_init_rules_they_draw_from():
    for init, expected in [("glorot", (np.sqrt(6 / 8),) * 2), ("glorot_logistic", (np.sqrt(2 / 8),) * 2),
                           ("he", (np.sqrt(6 / 5), 0.0))]:
        layer = L.Dense(3, init=init)
        layer.build((5,), np.float64, np.random.default_rng(0))
        assert layer.init_bounds() == pytest.approx(expected)
        assert np.abs(layer.W).max() <= expected[0] and np.abs(layer.b).max() <= expected[1]
    conv = L.Conv2D(4, (3, 2))
    conv.build((2, 5, 5), np.float64, np.random.default_rng(0))
    assert conv.init_bounds() == pytest.approx((np.sqrt(6 / 12), 0.0))
    assert np.abs(conv.W).max() <= np.sqrt(6 / 12) and not conv.b.any()


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", sorted(LOSS_CASES))
def test_loss_gradcheck(case, weighted):
    rng = np.random.default_rng(5)
    cls, target = LOSS_CASES[case]
    loss, y = cls(), target(rng)
    z = rng.standard_normal((6, 4)) * 2
    w = rng.uniform(0.2, 3.0, 6) if weighted else None
    loss.forward(z, y, w)
    analytic = loss.backward().copy()
    numeric = numerical_gradient(lambda: loss.forward(z, y, w), z)
    assert relative_error(analytic, numeric) < 1e-6


def test_loss_output_links():
    z = np.array([[0.0, np.log(3.0)]])
    np.testing.assert_allclose(losses.SoftmaxCrossEntropy().output(z), [[0.25, 0.75]])
    np.testing.assert_allclose(losses.SigmoidCrossEntropy().output(z), [[0.5, 0.75]])
    np.testing.assert_allclose(losses.PoissonLoss().output(z), [[1.0, 3.0]])
    np.testing.assert_allclose(losses.SquaredError().output(z), z)


def test_losses_name_their_fused_kernel_and_its_parameter():
    from fastnn.kernels import mlp

    codes = {
        losses.SoftmaxCrossEntropy: mlp.SOFTMAX, losses.SigmoidCrossEntropy: mlp.SIGMOID,
        losses.SquaredError: mlp.SQUARED, losses.PoissonLoss: mlp.POISSON, losses.AbsoluteError: mlp.ABSOLUTE,
        losses.HuberLoss: mlp.HUBER,
    }
    assert set(codes) == set(losses.LOSSES.values())
    for cls, code in codes.items():
        assert cls().code == code and cls().param == (1.0 if cls is losses.HuberLoss else 0.0)
    assert losses.HuberLoss(0.3).param == 0.3
    assert losses.Loss.code is None  # a loss the fused epoch does not know trains layer by layer


def test_loss_rejects_mismatched_targets():
    with pytest.raises(ValueError, match="do not match"):
        losses.SquaredError().forward(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="labels must lie"):
        losses.SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="sample_weight"):
        losses.SquaredError().forward(np.zeros((3, 1)), np.zeros(3), np.ones(2))
