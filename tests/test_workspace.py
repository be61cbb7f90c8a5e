"""Per-thread work memory of inference passes (fastnn/layers/workspace.py): a network's inference writes its
intermediate outputs into reused arrays, yet what it returns is its own, equal to a layer-by-layer pass with fresh
arrays, whatever the last layer (a view-returning Flatten included); threads never share the arrays."""
import threading

import numpy as np
import pytest

from fastnn import Sequential, SoftmaxCrossEntropy
from fastnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, workspace


def _net(layers):
    return Sequential(layers, SoftmaxCrossEntropy()).build((1, 6, 6), np.float32, 0)


def _fresh_pass(net, x):
    out = x
    for layer in net.layers:
        out = layer.forward(out, False)  # outside a network's pass: every output is a fresh array
    return out


@pytest.mark.parametrize("last", ["dense", "flatten"])
def test_results_are_the_callers_own_and_equal_a_pass_with_fresh_arrays(last, rng):
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

    def take(name):
        seen[name] = workspace.scratch("key", (4, 4), np.float32)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not np.may_share_memory(seen[0], seen[1])
    assert np.may_share_memory(workspace.scratch("key", (4, 4), np.float32),
                               workspace.scratch("key", (2, 8), np.float32))  # the same thread: reused


def test_large_arrays_are_never_kept_and_nested_passes_allocate():
    n = workspace.MAX_VALUES + 1
    assert not np.may_share_memory(workspace.scratch("big", (n,), np.float32),
                                   workspace.scratch("big", (n,), np.float32))
    with workspace.reused_outputs() as outer:
        assert outer is not None
        with workspace.reused_outputs() as inner:
            assert inner is None and workspace.outputs() is outer
    assert workspace.outputs() is None
