"""The compile helper: a second process that compiles a network's kernels from the other end while its first fit
compiles them from the start, so that a cold first fit waits for about half of its compiles.

A fit's first kernel-cache miss in a layer-by-layer epoch (``Sequential``) starts it, once per network and only
when a core is free (``background.spare_core``): the network (pickled to a temporary file in the cache folder) and
two rows of the batch go to a fresh interpreter, which

1. records the kernels, with their argument types, that one training step and one prediction call: it runs
   the estimators' finiteness check of prediction input, ``train_step`` and ``predict`` with the layers' kernel
   modules replaced by recorders that call nothing (kernels called from kernels are compiled with their callers),
   so the types are those of the real fit;
2. compiles them in the reverse order (the prediction's output kernel first, the first layer's forward and the
   input check last), then, at low priority (``nice`` 19) while the fit trains, those of the conv stacks'
   channels-last inference (``channels_last``; the first layer-by-layer prediction needs none of them),
   skipping what is cached or being compiled by another process;
3. for a network that fuses (``fused='auto'`` MLPs), goes on as the background compile of the fit's fused epoch
   variant (``background.main``: low priority, its lock), which the fit does not start while a helper runs.

The fit compiles from the first layer on; each kernel is compiled once between the two, thanks to the kernel
cache's compile locks (``fastnn.kernels.compiling_elsewhere``): when the fit reaches a kernel the helper is
compiling, it waits and loads it. The helper runs at normal priority (the fit waits for it) and stops when its list
is done, or after ``TIMEOUT_SECONDS``; it is quiet, safe to kill (cache writes are atomic, locks die with it) and
off with background compiles (``FASTNN_BACKGROUND_COMPILE=0``, ``fastnn.set_background_compile(False)``).
"""
import importlib
import os
import pickle
import sys
import tempfile
import types
import weakref

import numpy as np

from . import background
from .channels_last import ConvStack

TIMEOUT_SECONDS = 600
#: Networks whose parameters and work buffers exceed this are not handed to a helper (written at the first compile).
MAX_SPEC_BYTES = 64 << 20
_CHILD = "import sys; from fastnn.network.compile_helper import main; sys.exit(main())"
_started = weakref.WeakSet()  # networks whose helper this process started
_children = []  # the helpers' Popen objects


def start(net, X, Y, sample_weight=None):
    """Start the helper for ``net`` (built) with a batch ``X``/``Y`` (and weights) of the fit; at most once per
    network object. Returns the ``Popen``, or None when none was started."""
    if net in _started or not background.enabled() or not sys.executable:
        return None
    _started.add(net)
    if not background.spare_core():  # the cores are busy (a parallel search's workers): it would only compete
        return None
    if _pickled_bytes(net) > MAX_SPEC_BYTES:  # writing it would cost the fit more than the helper saves
        return None
    from ..kernels import cache_dir

    folder = cache_dir()
    if folder is None:
        return None
    rows = slice(0, min(2, X.shape[0]))
    spec = (net, X[rows].copy(), Y[rows].copy(), None if sample_weight is None else sample_weight[rows].copy())
    os.makedirs(folder, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="helper-", suffix=".pkl", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(spec, handle, protocol=pickle.HIGHEST_PROTOCOL)
        child = background.spawn_quiet(_CHILD, path)
    except Exception:
        os.unlink(path)
        raise
    _children.append(child)
    return child


def _pickled_bytes(net):
    """About what pickling ``net`` writes: its parameter, state and gradient vectors and its layers' work buffers."""
    arrays = [net.flat_params, net.flat_grads, net.flat_state]
    arrays += [buf for layer in net.layers for buf in getattr(layer, "_buffers", {}).values()]
    return sum(getattr(a, "nbytes", 0) for a in arrays)


def running():
    """Whether a helper this process started is still compiling."""
    _children[:] = [child for child in _children if child.poll() is None]
    return bool(_children)


def record(net, X, Y, sample_weight=None):
    """``(calls, stacks)``: ``[(dispatcher, signature)]``, in call order without repeats, of the kernels that one
    training step and one prediction of ``net`` call from Python, and of those its conv stacks' channels-last
    inference calls besides (``channels_last``; empty without stacks). Meanwhile every fastnn module that holds a
    kernel module holds a stand-in whose kernels only record their arguments' types (the kernel modules themselves
    are left alone, since kernels that call kernels are compiled against them); the real ones are put back before it
    returns."""
    from .. import kernels
    from ..kernels import signature
    from ..layers import all_finite, kernel_array

    calls, stand_ins = [], {}

    def recorder(dispatcher):
        def call(*args):
            key = (dispatcher, signature(dispatcher, args))
            if key not in calls:
                calls.append(key)
            return 0.0

        return call

    def recording(value):  # kernels, and tables of kernels (``kernels.output.LINKS``), record instead of running
        if hasattr(value, "py_func") and hasattr(value, "targetctx"):
            return recorder(value)
        if isinstance(value, dict):
            return {key: recording(item) for key, item in value.items()}
        return value

    def stand_in(name):
        if name not in stand_ins:
            module = vars(importlib.import_module(name))
            stand_ins[name] = types.SimpleNamespace(**{attr: recording(value) for attr, value in module.items()})
        return stand_ins[name]

    kernel_modules = {f"{kernels.__name__}.{name}" for name in kernels.MODULES}
    replaced = []
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", None) or ""
        if name.startswith("fastnn.") and not name.startswith(kernels.__name__):
            for attr, value in list(vars(module).items()):
                if isinstance(value, types.ModuleType) and value.__name__ in kernel_modules:
                    replaced.append((module, attr, value))
                    setattr(module, attr, stand_in(value.__name__))
    fused, net.fused = net.fused, False
    stacks = [s for s in net._inference_steps() if isinstance(s, ConvStack)]
    ready = [s._ready for s in stacks]
    layered = None
    try:
        with np.errstate(all="ignore"):
            all_finite(kernel_array(X, net.dtype))  # the estimators' check of prediction input: compiled last
            net.train_step(X, Y, sample_weight, 1e-4)
            net.predict(X)
            layered = len(calls)
            if stacks:  # the conv stacks' channels-last inference, which 'auto' runs once its kernels are compiled
                net.fused = "auto"
                for s in stacks:
                    s._ready = True
                net.predict(X)
    except Exception:  # noqa: BLE001  outputs are never computed here: code that reads them may fail
        pass  # what was recorded before is still worth compiling
    finally:
        for module, attr, value in replaced:  # the real kernels again, for whatever this process does next
            setattr(module, attr, value)
        net.fused = fused
        for s, was in zip(stacks, ready):
            s._ready = was
    layered = len(calls) if layered is None else layered  # a pass that failed: what it recorded
    return calls[:layered], calls[layered:]


def _fused_variant(net, X, Y, sample_weight=None):
    """``[dtype name, loss code, optimizer rule]`` of the fused epoch a fit of ``net`` on such batches would run
    (``background.main``'s arguments), or None when it does not fuse."""
    plan = net._fused_plan()
    if plan is None:
        return None
    try:
        plan.epoch_call(X.reshape(X.shape[0], -1), Y, sample_weight, np.arange(X.shape[0]), X.shape[0], 1e-4, 1.0)
    except Exception:  # noqa: BLE001  a batch the fused plan does not take: nothing to compile ahead
        return None
    return None if plan.codes is None else [str(net.dtype), *map(str, plan.codes)]


def main(argv=None):
    """The helper process: ``argv`` is ``[path of the pickled (net, X, Y, sample_weight)]``."""
    path = (argv or sys.argv[1:])[0]
    if hasattr(__import__("signal"), "alarm"):
        import signal

        signal.alarm(TIMEOUT_SECONDS)
    try:
        with open(path, "rb") as handle:
            spec = pickle.load(handle)
    finally:
        os.unlink(path)
    from ..kernels import compiling_elsewhere, is_cached, is_compiled

    fused = _fused_variant(*spec)  # before record() turns fusing off
    calls, stacks = record(*spec)
    for i, (dispatcher, sig) in enumerate([*reversed(calls), *stacks]):
        if i == len(calls) and hasattr(os, "nice"):
            os.nice(19)  # the fit trains now: its threads first
        if not (is_compiled(dispatcher, sig) or is_cached(dispatcher, sig) or compiling_elsewhere(dispatcher)):
            dispatcher.compile(sig)
    if fused is None:
        return 0
    # Then, at low priority, the fused epoch: the fit waits for no background compile of its own while this
    # helper runs, so a fit that ends first still leaves it to compile (background.main: lock, nice, timeout).
    return background.main(fused)
