"""fastnn's Numba kernels: pure functions over caller-allocated arrays (installed as ``fastnn.kernels``).

Nothing here imports from ``fastnn``; nothing is compiled at import (Numba compiles on first call and caches
on disk). Every kernel accepts float32 and float64 and keeps the array dtype in its arithmetic. ``signature``,
``is_compiled`` and ``is_cached`` tell whether a call would compile (the fused plan's tiers ask); ``cache_dir`` is
where compiled kernels are stored.
"""
from . import activations, batchnorm, checks, conv, dense, dropout, global_pool, losses, mlp, optim, output, pool, softmax
from ._jit import CacheFallbackWarning, cache_dir, is_cached, is_compiled, jit, signature

__all__ = [
    "activations", "batchnorm", "checks", "conv", "dense", "dropout", "global_pool", "losses", "mlp", "optim",
    "output", "pool", "softmax", "jit", "CacheFallbackWarning", "cache_dir", "is_cached", "is_compiled", "signature",
]
