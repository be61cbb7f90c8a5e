"""Per-thread work memory for inference passes.

An inference pass of a network allocates an output per layer and, in convolutions, a padded copy of the input. Fresh
arrays of a few MB come from ``mmap`` each time and page-fault on first touch: on a digits CNN's 1797-row
``predict_proba``, a quarter of the time. Instead, within ``Sequential``'s inference (``reused_outputs``) each layer's
output goes into one of two arrays this thread keeps per name, the one that does not hold the layer's input, and
conv layers take their padded input from ``scratch``. What a pass returns is copied out of them; arrays above
``MAX_VALUES`` values are allocated fresh as before, so a thread keeps at most three such arrays per dtype (8 MB
each in float32); ``Sequential`` runs a batch whose outputs would be larger in blocks of rows that fit.

Everything is per thread (``threading.local``): concurrent predictions in threads never share work memory.
"""
import contextlib
import math
import threading

import numpy as np

#: Work arrays above this many values are allocated fresh, never kept.
MAX_VALUES = 1 << 21
#: A network's inference pass reuses arrays when its largest output holds at least this many values; smaller
#: arrays come from malloc's heap without page faults, and the bookkeeping would cost more than it saves
#: (one-row latency: 51 us plain against 69 us through the pool, digits CNN).
REUSE_VALUES = 1 << 15

class _Local(threading.local):
    outputs = None  # the pool of the thread's current inference pass
    arrays = None  # (key, dtype char) -> kept array


_local = _Local()


def scratch(key, shape, dtype):
    """A work array of ``shape`` and ``dtype`` (contents undefined) that this thread keeps under ``key`` and hands
    out again at the next call with that key; fresh when smaller than ``REUSE_VALUES`` (malloc's heap serves it
    without page faults) or larger than ``MAX_VALUES``."""
    size = math.prod(shape)
    if not REUSE_VALUES <= size <= MAX_VALUES:
        return np.empty(shape, dtype)
    arrays = _local.arrays
    if arrays is None:
        arrays = _local.arrays = {}
    key = (key, np.dtype(dtype).char)
    array = arrays.get(key)
    if array is None or array.size < size:
        array = arrays[key] = np.empty(size, dtype)
    return array[:size].reshape(shape)


class _Outputs:
    """The two output arrays per name of a thread's inference pass; ``input`` is the current layer's input."""

    def __init__(self):
        self.input = None
        self.taken = []

    def take(self, name, shape, dtype):
        for slot in (0, 1):
            out = scratch(("out", name, slot), shape, dtype)
            if self.input is None or not np.may_share_memory(out, self.input):
                self.taken.append(out)
                return out
        return np.empty(shape, dtype)  # not reached: two slots, one input

    def owns(self, array):
        return any(np.may_share_memory(array, taken) for taken in self.taken)


def outputs():
    """The output pool of this thread's current inference pass, or None outside ``reused_outputs``."""
    return _local.outputs


@contextlib.contextmanager
def reused_outputs():
    """Within the block, layers' inference outputs come from this thread's two arrays per name (see the module
    docstring); yields the pool, whose ``input`` the caller sets before each layer and whose ``owns`` tells whether
    a result must be copied out before it leaves the block. Yields None inside another such block of the thread
    (its arrays are in use): the inner pass allocates as usual."""
    if outputs() is not None:
        yield None
        return
    pool = _local.outputs = _Outputs()
    try:
        yield pool
    finally:
        _local.outputs = None
