"""fastnn's Numba kernels: pure functions over caller-allocated arrays (installed as ``fastnn.kernels``).

Nothing here imports from ``fastnn``; nothing is compiled at import (Numba compiles on first call and caches
on disk). Every kernel accepts float32 and float64 and keeps the array dtype in its arithmetic. ``signature``,
``is_compiled`` and ``is_cached`` tell whether a call would compile (the fused plan's tiers ask); ``cache_dir`` is
where compiled kernels are stored; ``codes`` holds the integer codes kernels and callers share.

Loading is deferred: ``from fastnn.kernels import dense`` gives a module that is executed, with Numba imported,
at its first attribute use, so that ``import fastnn`` (every loky worker of a search, every unpickling) does not
pay Numba's import before a fit or a prediction needs a kernel. ``import fastnn.kernels.dense`` loads at once.
"""
import importlib
import threading
import types

from . import codes

MODULES = (
    "activations", "batchnorm", "checks", "conv", "dense", "dropout", "global_pool", "losses", "mlp", "optim",
    "output", "pool", "softmax",
)
_FROM_JIT = ("jit", "CacheFallbackWarning", "CacheRepairWarning")

__all__ = [
    *MODULES, "codes", *_FROM_JIT, "cache_dir", "compiling_elsewhere", "damaged_entries", "follow_compiles",
    "is_cached", "is_compiled", "on_first_miss", "signature",
]

_lock = threading.Lock()
_deferred = {}


class _Deferred(types.ModuleType):
    """Stands for the kernel module of the same name until an attribute is asked for; then imports it (thread-safe:
    the import system lets one thread execute a module while the others wait) and takes over its namespace, so that
    later lookups are plain attribute reads."""

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        module = importlib.import_module(self.__name__)
        self.__dict__.update(vars(module))
        return getattr(module, attr)


def __getattr__(name):
    if name in MODULES:
        with _lock:
            if name not in _deferred:
                _deferred[name] = _Deferred(f"{__name__}.{name}")
            return _deferred[name]
    if name in _FROM_JIT:
        from . import _jit

        return getattr(_jit, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)


def cache_dir():
    """The folder holding this installation's compiled kernels, or None when they run uncached."""
    from ._jit import cache_dir

    return cache_dir()


def follow_compiles():
    """Make this process wait for other processes' compiles of a kernel it needs, but never make them wait for its
    own (for low-priority processes; see ``_compile_lock``)."""
    from ._compile_lock import follow_only

    follow_only()


def on_first_miss(callback):
    """Context manager: within it, the first kernel-cache miss of this thread calls ``callback()`` once, before
    compiling (see ``_compile_lock``)."""
    from ._compile_lock import on_first_miss

    return on_first_miss(callback)


def compiling_elsewhere(dispatcher):
    """Whether another process holds ``dispatcher``'s compile lock (is compiling it into the cache now)."""
    from ._jit import compiling_elsewhere

    return compiling_elsewhere(dispatcher)


def damaged_entries(folder):
    """``[(file name, reason)]`` for each file of the kernel cache ``folder`` that a load would reject (and
    therefore compile and write again)."""
    from ._cache_file import inspect

    return inspect(folder)


def signature(dispatcher, args):
    """The Numba signature a call ``dispatcher(*args)`` dispatches on."""
    return tuple(dispatcher.typeof_pyval(a) for a in args)


def is_compiled(dispatcher, sig):
    """Whether ``sig`` is compiled in this process."""
    return sig in dispatcher.overloads


def is_cached(dispatcher, sig):
    """Whether ``sig`` is stored in the kernel cache, so that a call would load it instead of compiling (reads the
    cache's index file)."""
    from ._jit import is_cached

    return is_cached(dispatcher, sig)
