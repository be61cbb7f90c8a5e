"""The conv/pool thread policy (``fastnn.layers.threads``: inference passes split into sample ranges with BLAS
held at one thread; training passes on the whole batch) and Conv2D / pooling under it: against naive loops and
single-range results, float64 gradient checks, BLAS settings restored."""
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
CONFIG_PARAMS = [pytest.param(c, id=name) for name, c in CONFIGS.items()]
# Conv2D.cl_channels forcing each path: stride 1 with these few channels takes the padded-width path by default
PATHS = {"default": None, "channels_last": 1}


def conv2d(F, k, s, p, path):
    layer = L.Conv2D(F, k, stride=s, padding=p)
    if PATHS[path] is not None:
        layer.cl_channels = PATHS[path]
    return layer


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("n_threads", [2, 3])
@pytest.mark.parametrize("config", CONFIG_PARAMS)
def test_conv2d_under_threads_matches_naive_loops(threads, config, n_threads, path, monkeypatch):
    C, H, W, F, k, s, p, N = config
    threads(n_threads)
    layer = conv2d(F, k, s, p, path)
    layer.build((C, H, W), np.float64, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, C, H, W))
    ranges = []
    real_run = conv_layer.run
    monkeypatch.setattr("fastnn.layers.conv.run", lambda fn, r: ranges.append(r) or real_run(fn, r))
    out = layer.forward(x, training=True)
    assert ranges == [], "a training pass runs on the whole batch"
    (sh, sw), (ph, pw) = layer.stride, layer.padding
    np.testing.assert_allclose(out, conv_ref(x, layer.W, layer.b, sh, sw, ph, pw), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.forward(x), out, rtol=1e-12, atol=1e-12)  # inference: split, fresh buffers
    assert len(ranges) == 1 and len(ranges[0]) == min(n_threads, N)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout, l2=0.25)
    dW_ref, db_ref, dx_ref = conv_backward_ref(x, layer.W, dout, sh, sw, ph, pw)
    np.testing.assert_allclose(layer.dW, dW_ref + 0.25 * layer.W, rtol=1e-10, atol=1e-12, err_msg="dW")
    np.testing.assert_allclose(layer.db, db_ref, rtol=1e-10, atol=1e-12, err_msg="db")
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-12, err_msg="dx")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("config", CONFIG_PARAMS)
def test_conv2d_split_gradcheck(threads, config, path):
    C, H, W, F, k, s, p, N = config
    threads(3)
    # conv is linear in x and W: central differences have no truncation error, and a larger step keeps the
    # round-off of sums over 75-term windows below the tolerance
    errors = check_layer(conv2d(F, k, s, p, path), (C, H, W), batch_size=N, eps=1e-4)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("path", PATHS)
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
    out_one = one.forward(x)
    threads(3)
    split = cls(pool, stride)
    split.build((3, 7, 9), np.float64, rng)
    assert split._ranges(5, training=False) == [(0, 1), (1, 3), (3, 5)]
    assert split._ranges(5, training=True) == [(0, 5)]
    np.testing.assert_array_equal(split.forward(x), out_one)
    eps = 1e-4 if cls is L.AvgPool2D else 1e-6  # linear: no truncation error; max: a small step crosses no tie
    errors = check_layer(cls(pool, stride), (2, 7, 9), batch_size=5, eps=eps)
    assert max(errors.values()) < 1e-6, errors
