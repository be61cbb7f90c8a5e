"""Activations in place (``Activation.in_place``): inside a network, an activation after a Conv2D or Dense writes
its output over that layer's output and its input gradient over the incoming gradient. Results are those of the
activation with arrays of its own, bit for bit; gradients match finite differences; a call from outside a network
never overwrites the caller's array."""
import numpy as np
import pytest

from fastnn import Sequential, SoftmaxCrossEntropy
from fastnn.gradcheck import numerical_gradient, relative_error
from fastnn.layers import BatchNorm, Conv2D, Dense, Flatten, LeakyReLU, MaxPool2D, ReLU, Sigmoid, Tanh


def _cnn():
    return [Conv2D(4, 3, padding="same"), ReLU(), MaxPool2D(2), Flatten(), Dense(6), Tanh(), Dense(5),
            LeakyReLU(0.1), Dense(3)]


def test_which_activations_work_in_place():
    layers = [ReLU(), Dense(8), ReLU(), BatchNorm(), Sigmoid(), Dense(4), Tanh(), Sigmoid(), Dense(3), ReLU()]
    Sequential(layers, SoftmaxCrossEntropy()).build((5,), np.float64, 0)
    # first layer (the caller's input), after BatchNorm, after another activation (its backward reads its output)
    # and last (the loss's logits): arrays of their own
    assert [layer.in_place for layer in layers if hasattr(layer, "in_place")] == [False, True, False, True, False,
                                                                                   False]
    alone = ReLU()
    alone.build((3,), np.float64)
    assert alone.in_place is False


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_training_and_inference_equal_activations_with_arrays_of_their_own(dtype, rng):
    X = rng.standard_normal((20, 1, 6, 6)).astype(dtype)
    y = rng.integers(0, 3, 20)
    nets = [Sequential(_cnn(), SoftmaxCrossEntropy()).build((1, 6, 6), dtype, 0) for _ in range(2)]
    for layer in nets[1].layers:
        if hasattr(layer, "in_place"):
            layer.in_place = False
    assert sum(getattr(layer, "in_place", False) for layer in nets[0].layers) == 3
    for _ in range(3):
        losses = [net.train_step(X, y, l2=0.1) for net in nets]
        assert losses[0] == losses[1]
        np.testing.assert_array_equal(nets[0].flat_grads, nets[1].flat_grads)
    np.testing.assert_array_equal(nets[0].flat_params, nets[1].flat_params)
    np.testing.assert_array_equal(nets[0].predict(X), nets[1].predict(X))
    # and the in-place activations kept no arrays of their own
    assert all(not layer._buffers for layer in nets[0].layers if getattr(layer, "in_place", False))


def test_in_place_network_gradient_matches_finite_differences(rng):
    net = Sequential(_cnn(), SoftmaxCrossEntropy()).build((1, 6, 6), np.float64, 0)
    X, y = rng.standard_normal((5, 1, 6, 6)), rng.integers(0, 3, 5)
    net.loss_and_grad(X, y, l2=0.2)
    analytic = net.flat_grads.copy()
    numeric = numerical_gradient(lambda: net.loss_and_grad(X, y, l2=0.2), net.flat_params)
    assert relative_error(analytic, numeric) < 1e-5  # ReLU and max-pool kinks near the probes: 2e-6 either way


def test_a_call_from_outside_the_network_leaves_the_callers_array_alone(rng):
    net = Sequential(_cnn(), SoftmaxCrossEntropy()).build((1, 6, 6), np.float64, 0)
    relu = net.layers[1]
    assert relu.in_place
    x = rng.standard_normal((4, 4, 6, 6))
    kept = x.copy()
    out = relu.forward(x)
    np.testing.assert_array_equal(x, kept)
    np.testing.assert_array_equal(out, np.maximum(kept, 0))
    relu.forward(x, training=True)
    dout = rng.standard_normal(x.shape)
    dx = relu.backward(dout.copy())
    np.testing.assert_array_equal(dx, dout * (kept > 0))


@pytest.mark.parametrize("code", ["IDENTITY", "RELU", "LEAKY_RELU", "LOGISTIC", "TANH"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_kernels_in_place_equal_numpy(code, dtype, rng):
    """The kernels take another loop when the output is the input (``out is z``, ``dx is dout``): same values."""
    from fastnn.kernels import activations as kernels

    code = getattr(kernels, code)
    z = rng.standard_normal(1000).astype(dtype) * 3
    slope = 0.1 if code == kernels.LEAKY_RELU else 0.0
    y = {kernels.IDENTITY: z, kernels.RELU: np.maximum(z, 0), kernels.LEAKY_RELU: np.where(z > 0, z, 0.1 * z),
         kernels.LOGISTIC: 1 / (1 + np.exp(-z)), kernels.TANH: np.tanh(z)}[code].astype(dtype)
    dout = rng.standard_normal(1000).astype(dtype)
    grad = {kernels.IDENTITY: np.ones_like(y), kernels.RELU: (y > 0).astype(dtype),
            kernels.LEAKY_RELU: np.where(y > 0, 1, 0.1), kernels.LOGISTIC: y * (1 - y), kernels.TANH: 1 - y * y}[code]
    tol = dict(rtol=2e-6 if dtype == np.float32 else 1e-12, atol=1e-7 if dtype == np.float32 else 1e-15)
    same = z.copy()
    kernels.activation_forward(same, code, slope, same)
    np.testing.assert_allclose(same, y, **tol)
    apart = np.empty_like(z)
    kernels.activation_forward(z, code, slope, apart)
    np.testing.assert_array_equal(same, apart)
    same_grad = dout.copy()
    kernels.activation_backward(y, same_grad, code, slope, same_grad)
    np.testing.assert_allclose(same_grad, dout * grad, **tol)
    apart_grad = np.empty_like(dout)
    kernels.activation_backward(y, dout, code, slope, apart_grad)
    np.testing.assert_array_equal(same_grad, apart_grad)
