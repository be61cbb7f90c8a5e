"""The one decorator every fastnn kernel uses, so that compile options live in one place.

Options: ``cache=True`` (on-disk cache, falling back when it cannot be written), ``nogil=True`` (kernels can
run in threads), ``error_model="numpy"`` (division by zero gives inf/nan instead of raising and, more
importantly, lets LLVM vectorise divisions), no ``fastmath`` (it would break NaN/inf checks).

Numba looks for a writable cache location in this order: ``NUMBA_CACHE_DIR``, the ``__pycache__`` next to
the source, then the user-wide cache directory. When the cache cannot go where it was asked to (``NUMBA_CACHE_DIR``,
else the package directory) we say so once with one ``CacheFallbackWarning`` naming the location used; when no
location at all is writable the kernels run uncached, with the same single warning saying so.
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


def _within(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives
        return False


def _check_cache_location(dispatcher):
    """Warn (once) when Numba put the cache somewhere other than where it was asked to: ``NUMBA_CACHE_DIR`` when
    set, else the package's ``__pycache__``. Numba's choice is read back from the dispatcher, which is exact
    even for root on a read-only file system, where ``os.access`` says yes."""
    wanted = numba.config.CACHE_DIR or _KERNEL_DIR
    path = getattr(getattr(dispatcher, "_cache", None), "_cache_path", None)
    if path is None:  # a Numba without the attribute: judge by permissions
        if numba.config.CACHE_DIR or _package_dir_writable():
            return
        path = "the user cache directory"
    elif _within(path, wanted):
        return
    _warn_once(
        f"fastnn: {wanted} is not writable, so compiled kernels are cached in {path} instead; set NUMBA_CACHE_DIR "
        "to a writable folder to choose where."
    )


def jit(func=None, **overrides):
    """``numba.njit`` with fastnn's options; use as ``@jit`` or ``@jit(parallel=True)``."""

    def decorate(f):
        options = {**OPTIONS, "cache": True, **overrides}
        try:
            dispatcher = numba.njit(**options)(f)
        except RuntimeError as exc:  # Numba found no writable cache location at all
            _warn_once(
                f"fastnn: kernels run uncached, compiled anew in every process ({exc}); set NUMBA_CACHE_DIR to a "
                "writable folder."
            )
            options["cache"] = False
            return numba.njit(**options)(f)
        _check_cache_location(dispatcher)
        return dispatcher

    return decorate if func is None else decorate(func)
