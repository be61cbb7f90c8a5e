"""Channels-last inference: its kernels against NumPy references, and networks' conv stacks
(``fastnn.network.channels_last``) against the same layers run one by one."""
import numpy as np
import pytest
from test_conv import GEOMETRY_PARAMS, TOL, conv_ref, pad, setup
from test_pool import GEOMETRY_PARAMS as POOL_GEOMETRY_PARAMS
from test_pool import avgpool_ref, maxpool_ref

from fastnn import layers as L
from fastnn.kernels import codes, conv, pool
from fastnn.losses import SoftmaxCrossEntropy
from fastnn.network import Sequential
from fastnn.network.channels_last import ConvStack, inference_steps

DTYPE_PARAMS = [pytest.param(d, id=np.dtype(d).name) for d in (np.float32, np.float64)]
ACTIVATIONS = {
    codes.IDENTITY: lambda z: z,
    codes.RELU: lambda z: np.maximum(z, 0),
    codes.LEAKY_RELU: lambda z: np.where(z > 0, z, 0.1 * z),
    codes.LOGISTIC: lambda z: 1 / (1 + np.exp(-z)),
    codes.TANH: np.tanh,
}


# ---------------------------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
@pytest.mark.parametrize("geometry", GEOMETRY_PARAMS)
def test_pad_cl_matches_numpy_pad(geometry, dtype):
    x, _, _, (_, _, ph, pw), _ = setup(geometry, dtype)
    x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    N, H, W, C = x.shape
    xp = np.full((N, H + 2 * ph, W + 2 * pw, C), np.nan, dtype)  # every entry must be written
    conv.pad_cl(x, ph, pw, xp)
    np.testing.assert_array_equal(xp, np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0))))


@pytest.mark.parametrize("nc, code", [(1, codes.RELU), (2, codes.IDENTITY), (5, codes.LEAKY_RELU),
                                      (2, codes.LOGISTIC), (1, codes.TANH)])
@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
@pytest.mark.parametrize("geometry", GEOMETRY_PARAMS)
def test_conv_infer_cl_matches_naive_loops(geometry, dtype, nc, code):
    """Both column layouts (``conv.transposed``: one channel at stride 1, or not), chunks of 1, 2 and 5 samples (the
    last one short), every activation applied after the bias."""
    x, Wt, b, (sh, sw, ph, pw), (Ho, Wo) = setup(geometry, dtype)
    F, C, kh, kw = Wt.shape
    xp = np.ascontiguousarray(pad(x, ph, pw).transpose(0, 2, 3, 1))
    Wr = conv.weights_cl(Wt, np.empty((F, C * kh * kw), dtype))
    out = np.full((x.shape[0], Ho, Wo, F), np.nan, dtype)
    conv.conv_infer_cl(xp, Wr, b, kh, kw, sh, sw, nc, code, 0.1, np.empty(nc * Ho * Wo * C * kh * kw, dtype), out)
    expected = ACTIVATIONS[code](conv_ref(x, Wt, b, sh, sw, ph, pw)).transpose(0, 2, 3, 1)
    np.testing.assert_allclose(out, expected, **TOL[dtype])


def test_conv_geometries_cover_both_column_layouts():
    """The geometries of these tests and of ``test_conv`` take both column layouts, transposed or not."""
    layouts = {conv.transposed(g.values[0][1], g.values[0][8]) for g in GEOMETRY_PARAMS}
    assert layouts == {True, False}


@pytest.mark.parametrize("average", [False, True], ids=["max", "avg"])
@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
@pytest.mark.parametrize("geometry", POOL_GEOMETRY_PARAMS)
def test_pool_cl_matches_numpy(geometry, dtype, average):
    N, C, H, W, kh, kw, sh, sw = geometry
    x = np.random.default_rng(1).standard_normal((N, C, H, W)).astype(dtype)
    x[0, 0, :2, :2] = 0.5  # ties within a window
    out = np.full((N, (H - kh) // sh + 1, (W - kw) // sw + 1, C), np.nan, dtype)
    pool.pool_cl(np.ascontiguousarray(x.transpose(0, 2, 3, 1)), kh, kw, sh, sw, average, out)
    expected = avgpool_ref(x, kh, kw, sh, sw) if average else maxpool_ref(x, kh, kw, sh, sw)[0]
    np.testing.assert_allclose(out, expected.transpose(0, 2, 3, 1), **TOL[dtype])


@pytest.mark.parametrize("kh, kw, sh, sw", [(2, 2, 2, 2), (3, 3, 2, 2)], ids=["2x2", "3x3_s2"])
def test_pool_cl_max_lets_nan_win(kh, kw, sh, sw):
    """As the layered max pooling and NumPy's max: a NaN in a window is its maximum."""
    x = np.arange(2 * 5 * 5 * 3, dtype=np.float32).reshape(2, 5, 5, 3)
    x[1, 1, 1, 2] = np.nan
    out = np.empty((2, (5 - kh) // sh + 1, (5 - kw) // sw + 1, 3), np.float32)
    pool.pool_cl(x, kh, kw, sh, sw, False, out)
    assert np.isnan(out[1, 0, 0, 2]) and not np.isnan(out[1, 0, 0, :2]).any() and not np.isnan(out[0]).any()


# ---------------------------------------------------------------------------------------------- networks
def net_of(layers, shape, dtype=np.float32, seed=0, fused=True):
    net = Sequential(layers, SoftmaxCrossEntropy(), fused=fused)
    net.build(shape, dtype, random_state=seed)
    for p in net.params:  # non-zero biases: the fused bias pass must add them
        p += np.random.default_rng(seed).uniform(-0.1, 0.1, p.shape).astype(dtype)
    return net


def layer_by_layer(net, x):
    for layer in net.layers:
        x = layer.forward(x, False)
    return x


STACKS = {
    "digits": ((1, 8, 8), lambda: [L.Conv2D(16, 3, padding="same"), L.ReLU(), L.MaxPool2D(2), L.Conv2D(32, 3,
                                   padding="same"), L.ReLU(), L.MaxPool2D(2), L.Flatten(), L.Dense(10)]),
    "rgb_stride2_odd": ((3, 11, 9), lambda: [L.Conv2D(8, 3, stride=2, padding=1), L.LeakyReLU(0.2),
                                             L.Conv2D(12, (2, 3), padding=(0, 1)), L.Tanh(), L.Flatten(), L.Dense(3)]),
    "avgpool_overlap_then_act": ((2, 10, 10), lambda: [L.Conv2D(6, 5, padding=2), L.AvgPool2D(3, stride=2),
                                                       L.Sigmoid(), L.Conv2D(4, 1), L.Dropout(0.5), L.ReLU(),
                                                       L.MaxPool2D(3, stride=1), L.Flatten(), L.Dense(2)]),
    "two_stacks_around_batchnorm": ((1, 12, 12), lambda: [L.Conv2D(4, 3), L.ReLU(), L.BatchNorm(),
                                                          L.Conv2D(5, 3, stride=2), L.Identity(),
                                                          L.GlobalAvgPool2D(), L.Dense(3)]),
    "conv_last": ((3, 6, 6), lambda: [L.Conv2D(4, 3, padding=1), L.ReLU(), L.ReLU(), L.Conv2D(2, 3)]),
}


@pytest.mark.parametrize("dtype", DTYPE_PARAMS)
@pytest.mark.parametrize("n", [1, 7, 300])
@pytest.mark.parametrize("name", list(STACKS))
def test_network_inference_matches_its_layers_one_by_one(name, n, dtype):
    """One row, a few, and a batch that splits across threads and chunks (the digits stack: 300 images)."""
    shape, layers = STACKS[name]
    net = net_of(layers(), shape, dtype)
    x = np.random.default_rng(2).standard_normal((n, *shape)).astype(dtype)
    assert any(isinstance(step, ConvStack) for step in net._inference_steps())
    np.testing.assert_allclose(net.forward(x), layer_by_layer(net, x), **TOL[dtype])


def test_inference_steps_group_conv_stacks_and_fuse_activations():
    shape, layers = STACKS["two_stacks_around_batchnorm"]
    net = net_of(layers(), shape)
    steps = inference_steps(net.layers)
    assert [type(s).__name__ for s in steps] == ["ConvStack", "BatchNorm", "ConvStack", "GlobalAvgPool2D", "Dense"]
    assert [(type(op[0]).__name__, op[1]) for op in steps[0].ops] == [("Conv2D", codes.RELU)]
    assert [(type(op[0]).__name__, op[1]) for op in steps[2].ops] == [("Conv2D", codes.IDENTITY)]
    shape, layers = STACKS["avgpool_overlap_then_act"]
    ops = inference_steps(net_of(layers(), shape).layers)[0].ops
    assert [(type(op[0]).__name__, op[1]) for op in ops] == [
        ("Conv2D", codes.IDENTITY), ("AvgPool2D", None), ("Sigmoid", None), ("Conv2D", codes.RELU), ("MaxPool2D", None)
    ]


def test_digits_cnn_inference_is_bit_identical_to_the_layers():
    """On the digits CNN the stack computes every value as the layers do (same GEMM operands, same bias and ReLU
    arithmetic): not merely close."""
    shape, layers = STACKS["digits"]
    net = net_of(layers(), shape)
    x = np.random.default_rng(3).random((97, *shape), dtype=np.float32)
    np.testing.assert_array_equal(net.forward(x), layer_by_layer(net, x))


def test_stack_after_training_sees_the_new_weights():
    """Weights are read at every pass (an optimizer step between two predictions changes them in place)."""
    shape, layers = STACKS["digits"]
    net = net_of(layers(), shape)
    x = np.random.default_rng(4).random((5, *shape), dtype=np.float32)
    before = net.forward(x).copy()
    net.train_step(x, np.arange(5))
    after = net.forward(x)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, layer_by_layer(net, x), **TOL[np.float32])


def _spy_stacks(monkeypatch):
    ran = []
    forward = ConvStack._forward
    monkeypatch.setattr(ConvStack, "_forward", lambda self, x, training=False: ran.append(x.shape[0]) or forward(
        self, x, training))
    return ran


def test_fused_false_runs_the_layers_and_true_the_stack(monkeypatch):
    ran = _spy_stacks(monkeypatch)
    shape, layers = STACKS["digits"]
    x = np.random.default_rng(5).random((3, *shape), dtype=np.float32)
    layered = net_of(layers(), shape, fused=False)
    stacked = net_of(layers(), shape, fused=True)
    np.testing.assert_array_equal(layered.forward(x), stacked.forward(x))
    assert ran == [3]  # the stacked network's pass only


def test_auto_runs_the_layers_until_the_stack_kernels_are_compiled(monkeypatch):
    """'auto' never compiles at prediction time: a stack whose kernels are neither compiled nor cached runs its layers;
    once they are (here: compiled by a fused=True network of the same dtype), it runs channels last."""
    from fastnn.network import channels_last

    ran = _spy_stacks(monkeypatch)
    shape, layers = STACKS["digits"]
    x = np.random.default_rng(6).random((2, *shape), dtype=np.float32)
    net = net_of(layers(), shape, fused="auto")
    compiled = {"now": False}
    monkeypatch.setattr(channels_last, "is_compiled", lambda kernel, sig: compiled["now"])
    monkeypatch.setattr(channels_last, "is_cached", lambda kernel, sig: False)
    monkeypatch.setattr(channels_last, "RECHECK_SECONDS", 0.0)
    expected = layer_by_layer(net, x)
    np.testing.assert_array_equal(net.forward(x), expected)
    assert ran == []
    compiled["now"] = True
    np.testing.assert_array_equal(net.forward(x), expected)
    assert ran == [2]


def test_stack_signatures_are_the_ones_a_pass_compiles():
    """``ConvStack.ready`` looks up the signatures a real pass dispatches on: after a pass, each is compiled."""
    from fastnn.kernels import is_compiled

    for dtype in (np.float32, np.float64):
        shape, layers = STACKS["avgpool_overlap_then_act"]
        net = net_of(layers(), shape, dtype, fused=True)
        net.forward(np.zeros((2, *shape), dtype))
        stack = net._inference_steps()[0]
        assert all(is_compiled(kernel, sig) for kernel, sig in stack._signatures())
        assert stack.ready("auto") and not stack.ready(False)


def test_eight_threads_share_one_stack():
    """Concurrent predictions on one network: each thread's ranges use that thread's work arrays (the batch splits
    across the library's own threads too)."""
    from concurrent.futures import ThreadPoolExecutor

    shape, layers = STACKS["digits"]
    net = net_of(layers(), shape)
    x = np.random.default_rng(7).random((300, *shape), dtype=np.float32)
    reference = net.forward(x).copy()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: [net.forward(x).copy() for _ in range(3)], range(8)))
    for per_thread in results:
        for out in per_thread:
            np.testing.assert_array_equal(out, reference)


def test_cnn_classifier_predictions_agree_across_fused_settings():
    from sklearn.datasets import load_digits

    from fastnn import CNNClassifier

    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16.0, y[:300]
    common = dict(conv_layers=((8, 3), (16, 3)), max_iter=2, random_state=0)
    stacked = CNNClassifier(fused=True, **common).fit(X, y)
    layered = CNNClassifier(fused=False, **common).fit(X, y)
    np.testing.assert_array_equal(stacked.coefs_[0], layered.coefs_[0])  # training does not depend on it
    np.testing.assert_allclose(stacked.predict_proba(X), layered.predict_proba(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(stacked.predict(X), layered.predict(X))
