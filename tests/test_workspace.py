"""Per-thread work memory of inference passes (fastnn/layers/workspace.py): a network's inference writes its
intermediate outputs into reused arrays, yet what it returns is its own, equal to a layer-by-layer pass with fresh
arrays, whatever the last layer (a view-returning Flatten included); threads never share the arrays."""
import threading

import numpy as np
import pytest

from fastnn import Sequential, SoftmaxCrossEntropy
from fastnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, workspace
from fastnn.network import sequential
from fastnn.network.channels_last import ConvStack


def _net(layers):
    return Sequential(layers, SoftmaxCrossEntropy()).build((1, 6, 6), np.float32, 0)


def _fresh_pass(net, x):
    out = x
    for layer in net.layers:
        out = layer.forward(out, False)  # outside a network's pass: every output is a fresh array
    return out


@pytest.mark.parametrize("last", ["dense", "flatten"])
def test_results_are_the_callers_own_and_equal_a_pass_with_fresh_arrays(last, rng, monkeypatch):
    monkeypatch.setattr(sequential, "REUSE_VALUES", 0)  # small test batches: through the reused arrays all the same
    layers = [Conv2D(4, 3, padding="same"), ReLU(), MaxPool2D(2), Dropout(0.5), Flatten()]
    net = _net(layers + ([Dense(3)] if last == "dense" else []))
    x1, x2 = (rng.standard_normal((5, 1, 6, 6)).astype(np.float32) for _ in range(2))
    first = net.forward(x1)
    kept = first.copy()
    second = net.forward(x2)  # reuses this thread's arrays: must not touch what the first pass returned
    assert np.array_equal(first, kept)
    assert not np.may_share_memory(first, second)
    assert np.array_equal(first, _fresh_pass(net, x1)) and np.array_equal(second, _fresh_pass(net, x2))


def test_threads_get_arrays_of_their_own():
    seen = {}

    shape = (workspace.REUSE_VALUES,)

    def take(name):
        seen[name] = workspace.scratch("key", shape, np.float32)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not np.may_share_memory(seen[0], seen[1])
    assert np.may_share_memory(workspace.scratch("key", shape, np.float32),
                               workspace.scratch("key", (2, shape[0] // 2), np.float32))  # the same thread: reused
    assert not np.may_share_memory(workspace.scratch("small", (8,), np.float32),
                                   workspace.scratch("small", (8,), np.float32))  # small: fresh, from the heap


def test_large_arrays_are_never_kept_and_nested_passes_allocate():
    n = workspace.MAX_VALUES + 1
    assert not np.may_share_memory(workspace.scratch("big", (n,), np.float32),
                                   workspace.scratch("big", (n,), np.float32))
    with workspace.reused_outputs() as outer:
        assert outer is not None
        with workspace.reused_outputs() as inner:
            assert inner is None and workspace.outputs() is outer
    assert workspace.outputs() is None


def test_a_pass_whose_layers_split_keeps_blas_at_one_thread_throughout(rng):
    """A BLAS call at two threads between split layers leaves OpenBLAS's worker spinning on the core the next
    layer's threads need: the Dense layer of a split pass must see one BLAS thread; an unsplit pass changes nothing."""
    from fastnn.layers import threads

    if threads.thread_budget() < 2:
        pytest.skip("BLAS runs one thread here: nothing to hold")
    net = _net([Conv2D(8, 3, padding="same"), ReLU(), MaxPool2D(2), Flatten(), Dense(3)])
    dense = net.layers[-1]
    seen = []
    original = dense._forward

    def forward(x, training):
        seen.append(min(lib.get_num_threads() for lib in threads._blas()))
        return original(x, training)

    dense._forward = forward
    big = rng.standard_normal((4096, 1, 6, 6)).astype(np.float32)
    assert net.layers[0].splits(big.shape[0])
    net.forward(big)
    net.forward(big[:1])  # one row: nothing splits, BLAS as set
    assert seen == [1, threads.thread_budget()]


def test_small_passes_skip_the_reused_arrays_and_large_ones_take_them(rng, monkeypatch):
    net = _net([Conv2D(4, 3, padding="same"), ReLU(), Flatten(), Dense(3)])
    taken = []
    monkeypatch.setattr(workspace._Outputs, "take", lambda self, *a: taken.append(a) or np.empty(a[1], a[2]))
    net.forward(rng.standard_normal((1, 1, 6, 6)))
    assert taken == []
    net.forward(rng.standard_normal((workspace.REUSE_VALUES // (4 * 36) + 1, 1, 6, 6)))
    assert len(taken) == 2  # conv and dense (the ReLU works in place, Flatten returns a view)


@pytest.mark.parametrize("last", ["dense", "flatten"])
def test_a_batch_larger_than_a_block_runs_in_row_blocks_with_the_result_of_fresh_arrays(last, rng, monkeypatch):
    """Inference of many rows runs every layer on a block of rows before the next block (the widest output of a
    block within ``MAX_VALUES``), so its work arrays stay reused and small; the result is the layer-by-layer one."""
    layers = [Conv2D(4, 3, padding="same"), ReLU(), MaxPool2D(2), Flatten()]
    net = Sequential(layers + ([Dense(3)] if last == "dense" else []), SoftmaxCrossEntropy()).build(
        (1, 6, 6), np.float64, 0)
    widest = 4 * 6 * 6  # the conv output per row
    monkeypatch.setattr(sequential, "REUSE_VALUES", 0)
    monkeypatch.setattr(sequential, "MAX_VALUES", 7 * widest + 5)  # blocks of 7 rows
    seen = []
    stack_forward = ConvStack._forward  # the conv stack: the first step of the network's inference

    def spy(self, x, training):
        seen.append(x.shape[0])
        return stack_forward(self, x, training)

    monkeypatch.setattr(ConvStack, "_forward", spy)
    x = rng.standard_normal((30, 1, 6, 6))
    out = net.forward(x)
    assert seen == [7, 7, 7, 7, 2]
    np.testing.assert_allclose(out, _fresh_pass(net, x), rtol=1e-12, atol=1e-12)
    kept = out.copy()
    net.forward(x[::-1].copy())
    assert np.array_equal(out, kept), "the result is the caller's own"
