"""The one decorator every fastnn kernel uses, so that compile options live in one place.

Options: ``cache=True`` (on-disk cache, falling back when it cannot be written), ``nogil=True`` (kernels can
run in threads), ``error_model="numpy"`` (division by zero gives inf/nan instead of raising and, more
importantly, lets LLVM vectorise divisions), no ``fastmath`` (it would break NaN/inf checks).

Numba looks for a writable cache location in this order: ``NUMBA_CACHE_DIR``, the ``__pycache__`` next to
the source, then the user-wide cache directory. When the package directory is read-only and no
``NUMBA_CACHE_DIR`` is set we say so once; when no location at all is writable the kernels run uncached.
"""
import os
import warnings

import numba

OPTIONS = {"nogil": True, "error_model": "numpy", "fastmath": False}

_KERNEL_DIR = os.path.dirname(os.path.abspath(__file__))
_warned = False


class CacheFallbackWarning(UserWarning):
    """The package directory cannot hold Numba's cache; another location (or none) is used."""


def _warn_once(message):
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(message, CacheFallbackWarning, stacklevel=3)


def _package_dir_writable():
    cache_dir = os.path.join(_KERNEL_DIR, "__pycache__")
    target = cache_dir if os.path.isdir(cache_dir) else _KERNEL_DIR
    return os.access(target, os.W_OK)


def jit(func=None, **overrides):
    """``numba.njit`` with fastnn's options; use as ``@jit`` or ``@jit(parallel=True)``."""

    def decorate(f):
        options = {**OPTIONS, "cache": True, **overrides}
        if not os.environ.get("NUMBA_CACHE_DIR") and not _package_dir_writable():
            _warn_once(
                f"fastnn: {_KERNEL_DIR} is not writable, so compiled kernels are cached in the user cache "
                "directory instead; set NUMBA_CACHE_DIR to choose where."
            )
        try:
            return numba.njit(**options)(f)
        except RuntimeError as exc:  # Numba found no writable cache location at all
            _warn_once(f"fastnn: kernels run uncached ({exc}); set NUMBA_CACHE_DIR to a writable folder.")
            options["cache"] = False
            return numba.njit(**options)(f)

    return decorate if func is None else decorate(func)
