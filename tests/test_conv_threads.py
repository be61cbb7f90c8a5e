"""The conv/pool thread policy (``fastnn.layers.threads``: sample ranges, BLAS held at one thread) and Conv2D /
pooling split over several ranges: against naive loops and single-range results, float64 gradient checks, BLAS
settings restored."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from fastnn import layers as L
from fastnn.gradcheck import check_layer
from fastnn.layers import threads as conv_layer

from test_conv import conv_backward_ref, conv_ref


@pytest.fixture
def threads(monkeypatch):
    """Force ``n`` ranges on every pass, whatever the machine and the work: ``threads(n)``."""

    def force(n):
        monkeypatch.setattr(conv_layer, "thread_budget", lambda: n)
        monkeypatch.setattr(conv_layer, "MIN_WORK", {"conv": 1, "pool": 1})

    return force


@pytest.mark.parametrize("n, work, expected", [
    (10, 10**9, [(0, 5), (5, 10)]),
    (5, 10**9, [(0, 2), (2, 5)]),
    (1, 10**9, [(0, 1)]),
    (0, 10**9, [(0, 0)]),
    (10, 1, [(0, 10)]),  # too little work to split
])
def test_split_ranges_cover_the_batch(monkeypatch, n, work, expected):
    monkeypatch.setattr(conv_layer, "thread_budget", lambda: 2)
    assert conv_layer.split(n, work) == expected


def test_a_pass_too_small_to_split_does_not_ask_for_the_thread_budget(monkeypatch):
    """A one-row prediction runs several conv and pooling passes: each BLAS thread query costs microseconds."""
    def no_budget():
        raise AssertionError("thread_budget asked for an unsplittable pass")

    monkeypatch.setattr(conv_layer, "thread_budget", no_budget)
    assert conv_layer.split(1, 10**9) == [(0, 1)]
    assert conv_layer.split(0, 10**9) == [(0, 0)]
    assert conv_layer.split(64, conv_layer.MIN_WORK["conv"] // 64) == [(0, 64)]
    with pytest.raises(AssertionError, match="unsplittable"):
        conv_layer.split(64, conv_layer.MIN_WORK["conv"])  # two ranges' worth: the budget decides


def test_thread_budget_follows_blas_limits():
    with threadpool_limits(1, user_api="blas"):
        assert conv_layer.thread_budget() == 1
        assert conv_layer.split(64, 10**9) == [(0, 64)]


def test_run_restores_blas_threads_and_reraises():
    before = sorted((i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas")
    seen = []

    def fn(t, a, b):
        seen.append(sorted(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"))
        if t == 1:
            raise RuntimeError("range 1 failed")

    with pytest.raises(RuntimeError, match="range 1"):
        conv_layer.run(fn, [(0, 1), (1, 2), (2, 3)])
    assert all(max(counts) == 1 for counts in seen), seen  # BLAS at one thread inside the ranges
    assert sorted((i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas") == before


# (C, H, W, filters, kernel, stride, padding, N): 1 and 3 channels, odd sizes, stride 2, 'same', uneven ranges
CONFIGS = {
    "c1_h9w7_k3_same_n5": (1, 9, 7, 4, 3, 1, "same", 5),
    "c3_h8w8_k5_same_n7": (3, 8, 8, 6, 5, 1, "same", 7),
    "c3_h9w9_k3_s2_p1_n5": (3, 9, 9, 5, 3, 2, 1, 5),
    "c1_h7w8_k5_s2_same_n4": (1, 7, 8, 3, 5, 2, "same", 4),
    "c2_h6w5_k3x2_s1_p0_n3": (2, 6, 5, 2, (3, 2), 1, 0, 3),
}
PATHS = ("padded_width", "channels_last")  # Conv2D.path forcing each path (stride 2 is channels-last)
# Every path a config can take: the transposed one too for one input channel at stride 1.
CONFIG_PATHS = [pytest.param(c, path, id=f"{name}-{path}") for name, c in CONFIGS.items()
                for path in PATHS + (("transposed",) if c[0] == 1 and c[5] == 1 else ())]


def conv2d(F, k, s, p, path):
    layer = L.Conv2D(F, k, stride=s, padding=p)
    layer.path = path
    return layer


@pytest.mark.parametrize("n_threads", [2, 3])
@pytest.mark.parametrize("config, path", CONFIG_PATHS)
def test_conv2d_split_matches_naive_loops(threads, config, n_threads, path):
    C, H, W, F, k, s, p, N = config
    threads(n_threads)
    layer = conv2d(F, k, s, p, path)
    layer.build((C, H, W), np.float64, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, C, H, W))
    out = layer.forward(x, training=True)
    assert len(layer._ranges) == min(n_threads, N)
    (sh, sw), (ph, pw) = layer.stride, layer.padding
    np.testing.assert_allclose(out, conv_ref(x, layer.W, layer.b, sh, sw, ph, pw), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.forward(x), out, rtol=1e-12, atol=1e-12)  # inference: same ranges, fresh buffers
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout, l2=0.25)
    dW_ref, db_ref, dx_ref = conv_backward_ref(x, layer.W, dout, sh, sw, ph, pw)
    np.testing.assert_allclose(layer.dW, dW_ref + 0.25 * layer.W, rtol=1e-10, atol=1e-12, err_msg="dW")
    np.testing.assert_allclose(layer.db, db_ref, rtol=1e-10, atol=1e-12, err_msg="db")
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-12, err_msg="dx")


@pytest.mark.parametrize("config, path", CONFIG_PATHS)
def test_conv2d_split_gradcheck(threads, config, path):
    C, H, W, F, k, s, p, N = config
    threads(3)
    # conv is linear in x and W: central differences have no truncation error, and a larger step keeps the
    # round-off of sums over 75-term windows below the tolerance
    errors = check_layer(conv2d(F, k, s, p, path), (C, H, W), batch_size=N, eps=1e-4)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("path", PATHS + ("transposed",))
def test_conv2d_first_layer_split_no_input_gradient(threads, path):
    threads(2)
    layer = conv2d(3, 3, 1, "same", path)
    layer.build((1, 6, 6), np.float64, np.random.default_rng(0))
    layer.input_grad = False
    x = np.random.default_rng(1).standard_normal((5, 1, 6, 6))
    dout = np.random.default_rng(2).standard_normal((5, 3, 6, 6))
    layer.forward(x, training=True)
    assert layer.backward(dout) is None
    dW_ref, db_ref, _ = conv_backward_ref(x, layer.W, dout, 1, 1, 1, 1)
    np.testing.assert_allclose(layer.dW, dW_ref, rtol=1e-10)
    np.testing.assert_allclose(layer.db, db_ref, rtol=1e-10)


@pytest.mark.parametrize("cls, pool, stride", [
    (L.MaxPool2D, 2, None), (L.MaxPool2D, 3, 2), (L.AvgPool2D, 2, None), (L.AvgPool2D, 3, 1),
], ids=["max2x2", "max3s2", "avg2x2", "avg3s1"])
def test_pooling_split_matches_one_range_and_gradcheck(threads, cls, pool, stride):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 7, 9))
    one = cls(pool, stride)
    one.build((3, 7, 9), np.float64, rng)
    out_one = one.forward(x, training=True)
    dout = rng.standard_normal(out_one.shape)
    dx_one = one.backward(dout).copy()
    threads(3)
    split = cls(pool, stride)
    split.build((3, 7, 9), np.float64, rng)
    np.testing.assert_array_equal(split.forward(x, training=True), out_one)
    np.testing.assert_array_equal(split.backward(dout), dx_one)
    eps = 1e-4 if cls is L.AvgPool2D else 1e-6  # linear: no truncation error; max: a small step crosses no tie
    errors = check_layer(cls(pool, stride), (2, 7, 9), batch_size=5, eps=eps)
    assert max(errors.values()) < 1e-6, errors


def test_a_training_step_whose_layers_split_keeps_blas_at_one_thread_throughout():
    """A BLAS call at two threads between split passes (the Dense head, the optimizer) leaves OpenBLAS's worker
    spinning on the core the split needs: within a split training step every BLAS call sees one thread."""
    from fastnn import Sequential, SoftmaxCrossEntropy
    from fastnn.layers import Flatten, threads as policy

    if policy.thread_budget() < 2:
        pytest.skip("BLAS runs one thread here: nothing to hold")
    net = Sequential([L.Conv2D(8, 3, padding="same"), L.ReLU(), L.MaxPool2D(2), Flatten(), L.Dense(3)],
                     SoftmaxCrossEntropy()).build((1, 6, 6), np.float32, 0)
    dense = net.layers[-1]
    seen = []
    forward, backward = dense._forward, dense.backward
    dense._forward = lambda x, training: seen.append(policy.thread_budget() and min(
        lib.get_num_threads() for lib in policy._blas())) or forward(x, training)
    dense.backward = lambda dout, l2=0.0: seen.append(min(lib.get_num_threads() for lib in policy._blas())) or \
        backward(dout, l2)
    x = np.random.default_rng(0).standard_normal((4096, 1, 6, 6)).astype(np.float32)
    net.train_step(x, np.arange(4096) % 3)
    assert seen == [1, 1]
    assert min(lib.get_num_threads() for lib in policy._blas()) == policy.thread_budget()  # restored after
