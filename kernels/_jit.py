"""The one decorator every fastnn kernel uses, so that compile options and caching live in one place.

Options: ``nogil=True`` (kernels can run in threads), ``error_model="numpy"`` (division by zero gives inf/nan
instead of raising and, more importantly, lets LLVM vectorise divisions), no ``fastmath`` (it would break NaN/inf
checks). Small helpers that other kernels call take ``@jit(inline="always")``: Numba then types them inside each
caller instead of compiling, wrapping and caching them as functions of their own, which costs about as much as a
whole kernel on a cold cache.

Caching. Compiled kernels never go inside the installed package (pip does not own such files, so they would outlive
``pip uninstall`` and break the next install). Each kernel gets fastnn's own cache, tried in this order:

1. ``NUMBA_CACHE_DIR``, when set, as Numba documents;
2. the per-user folder ``cache_root()``: ``platformdirs.user_cache_dir("fastnn")/<fastnn version>`` (on Linux
   ``~/.cache/fastnn/0.1.0``), shared by all of the user's processes.

File names carry the Numba version (``dense.dense_forward-12.py311.numba0.61.0.nbi``), so that environments with
different Numba releases sharing a folder do not overwrite each other's kernels.

Only fastnn's dispatchers use this cache; process-wide Numba settings are left alone, so other Numba libraries in
the same process keep caching where they always did. When ``NUMBA_CACHE_DIR`` is set but cannot be written, one
``CacheFallbackWarning`` names the folder used instead; when no folder at all is writable, the kernels run uncached
with one warning.

The cache heals itself: its files carry a checksum (``_cache_file``), and an entry that is damaged (cut short,
overwritten), foreign (another Numba, another format) or half written is evicted when a load meets it, and the
kernel is compiled and written again; the first such entry of a process gives one ``CacheRepairWarning`` naming the
folder. A cache that cannot be written (read-only, removed meanwhile) leaves kernels compiled in memory, with at most
that one warning.
"""
import functools
import os
import warnings
from importlib import metadata

import numba
from numba.core import caching
from numba.core.registry import CPUDispatcher

from ._cache_file import CheckedCacheFile, DamagedEntry
from ._compile_lock import CompileLock, lock_path

OPTIONS = {"nogil": True, "error_model": "numpy", "fastmath": False}

_warned = False
_warned_repair = False

# Numba 0.60 spells its locator classes with a leading underscore.
_UserProvided = getattr(caching, "UserProvidedCacheLocator", None) or caching._UserProvidedCacheLocator
_SourceFileBacked = caching._SourceFileBackedLocatorMixin


class CacheFallbackWarning(UserWarning):
    """Compiled kernels cannot be cached where they were asked to go; another location (or none) is used.

    Examples
    --------
    >>> import warnings
    >>> from fastnn.kernels import CacheFallbackWarning
    >>> warnings.filterwarnings("ignore", category=CacheFallbackWarning)
    >>> warnings.resetwarnings()
    """


class CacheRepairWarning(UserWarning):
    """An entry of the kernel cache could not be loaded or written; the kernel was compiled anew.

    Given once per process, naming the cache folder; the fit's result is the same as on a clean cache.

    Examples
    --------
    >>> import warnings
    >>> from fastnn.kernels import CacheRepairWarning
    >>> warnings.filterwarnings("ignore", category=CacheRepairWarning)
    >>> warnings.resetwarnings()
    """


def _warn_repair_once(message):
    global _warned_repair
    if not _warned_repair:
        _warned_repair = True
        warnings.warn(message, CacheRepairWarning, stacklevel=2)


def _warn_once(message):
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(message, CacheFallbackWarning, stacklevel=3)


def _version():
    try:
        return metadata.version("fastnn")
    except metadata.PackageNotFoundError:  # imported from a source tree that was never installed
        return "dev"


@functools.lru_cache(maxsize=None)
def cache_root():
    """The per-user folder for fastnn's compiled kernels (``NUMBA_CACHE_DIR`` aside), found once per process."""
    import platformdirs  # imported here: only the first kernel decoration needs it

    return os.path.join(platformdirs.user_cache_dir("fastnn", appauthor=False), _version())


class _UserFolderLocator(_SourceFileBacked, caching._CacheLocator):
    """Caches a kernel in ``cache_root()``, in a subfolder per installed copy of the kernels' source folder."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(cache_root(), self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self):
        return self._cache_path


class _KernelCacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = [_UserProvided, _UserFolderLocator]

    def __init__(self, py_func):
        # A kernel made by a factory (``kernels.mlp.epoch_kernel``) is a closure: each set of captured constants
        # gets files of its own, so that processes compiling different variants never rewrite one shared index.
        cells = py_func.__closure__ or ()
        self._variant = "".join(f".{cell.cell_contents}" for cell in cells)
        super().__init__(py_func)

    def get_filename_base(self, fullname, abiflags):
        return f"{super().get_filename_base(fullname, abiflags)}{self._variant}.numba{numba.__version__}"


class KernelCache(caching.FunctionCache):
    """Numba's per-function cache with fastnn's locations (``NUMBA_CACHE_DIR``, else the user folder), checked
    files (a load that meets a bad entry evicts it and returns None, so that the dispatcher compiles and saves) and
    a compile lock (``_compile_lock``): on a miss, a kernel that another process is compiling is waited for and
    loaded rather than compiled again."""

    _impl_class = _KernelCacheImpl

    #: Whether a load refreshes Numba's whole target first (``parallel=True`` kernels: see ``_prepare_to_load``).
    full_refresh = False

    def __init__(self, py_func):
        super().__init__(py_func)
        numba_file = self._cache_file
        self._cache_file = CheckedCacheFile(self._cache_path, self._impl.filename_base, numba_file._source_stamp)
        self.compile_lock = CompileLock(lock_path(self._cache_path, self._impl.filename_base))

    def load_overload(self, sig, target_context):
        data = self._load(sig, target_context)
        if data is None:  # compile here, unless another process is doing it: then wait and load its result
            data = self.compile_lock.on_miss(lambda: self._load(sig, target_context))
        return data

    def _load(self, sig, target_context):
        try:
            if self.full_refresh:
                target_context.refresh()
            else:
                _prepare_to_load(target_context)
            with self._guard_against_spurious_io_errors():
                return self._load_overload(sig, target_context)
        except Exception as exc:  # noqa: BLE001  whatever a bad file makes pickle or Numba's rebuild raise
            if isinstance(exc, DamagedEntry):
                self._cache_file.evict(exc)
                what = str(exc)
            else:
                what = f"{self._impl.filename_base}: {type(exc).__name__}: {exc}"
            _warn_repair_once(
                f"fastnn: an entry of the kernel cache in {self._cache_path} could not be loaded ({what}); it is "
                "compiled and written again, as is any other bad entry this process meets (`python -m fastnn info` "
                "lists them)."
            )
            return None

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except OSError as exc:  # e.g. made read-only: the kernel stays compiled in this process
            _warn_repair_once(
                f"fastnn: compiled kernels cannot be written to the kernel cache in {self._cache_path} ({exc}); they "
                "are compiled again in every process until it is writable."
            )

    def has(self, sig, codegen):
        """Whether ``sig`` is listed in this kernel's (sound, fresh) index."""
        return self._cache_file.has(self._index_key(sig, codegen))


def _prepare_to_load(target_context):
    """Make Numba's CPU target ready to run a cached kernel: the runtime's symbols (``rtsys.initialize``) and the
    hash secrets' (``numba.cpython.hashing``), the only ones that the target's ``refresh`` adds beside those of its
    creation. Numba's own ``load_overload`` calls ``refresh`` instead, which also imports and installs every lowering
    registry (ufuncs, linalg, ...): about 0.25 s of a process that only loads kernels (measured: the first fit of a
    process whose kernels are cached, digits h100 batch 32 20 epochs, 0.42 -> 0.14 s with Numba already imported
    and 0.44-0.49 -> 0.31-0.34 s with its import; loading ``mlp_epoch`` 274 -> 35 ms).
    The registries serve compiles, and Numba's compiler refreshes the target itself before each one, so a kernel
    compiled later in the process still finds them. ``parallel=True`` kernels would also need the thread pool's
    symbols: their caches keep the full refresh (``KernelCache.full_refresh``)."""
    from numba.core.runtime import rtsys
    import numba.cpython.hashing  # noqa: F401  (adds the hash secrets' symbols)

    rtsys.initialize(target_context)


def _within(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives
        return False


def _attach_cache(dispatcher, py_func):
    try:
        cache = KernelCache(py_func)
    except RuntimeError as exc:  # no writable location at all
        _warn_once(
            f"fastnn: kernels run uncached, compiled anew in every process ({exc}); set NUMBA_CACHE_DIR to a "
            "writable folder."
        )
        return
    asked = numba.config.CACHE_DIR
    if asked and not _within(cache.cache_path, asked):
        _warn_once(
            f"fastnn: NUMBA_CACHE_DIR={asked} is not writable, so compiled kernels are cached in "
            f"{os.path.dirname(cache.cache_path)} instead; set NUMBA_CACHE_DIR to a writable folder to choose where."
        )
    dispatcher._cache = cache  # what Dispatcher.enable_caching() does, with fastnn's locations


class _Dispatcher(CPUDispatcher):
    """Numba's dispatcher, releasing its kernel's compile lock when a compile ends, saved or failed."""

    def compile(self, sig):
        try:
            return super().compile(sig)
        finally:
            if isinstance(self._cache, KernelCache):
                self._cache.compile_lock.release()


def jit(func=None, **overrides):
    """``numba.njit`` with fastnn's options and cache; use as ``@jit`` or ``@jit(parallel=True)``."""

    def decorate(f):
        dispatcher = numba.njit(**{**OPTIONS, **overrides, "cache": False})(f)
        dispatcher.__class__ = _Dispatcher  # the same object layout; only compile() differs
        _attach_cache(dispatcher, f)
        if overrides.get("parallel") and isinstance(dispatcher._cache, KernelCache):
            dispatcher._cache.full_refresh = True
        return dispatcher

    return decorate if func is None else decorate(func)


def cache_dir():
    """The folder holding this installation's compiled kernels, or None when they run uncached."""
    from . import dense  # any kernel module: they all live in the same folder

    cache = dense.dense_forward._cache
    return cache.cache_path if isinstance(cache, KernelCache) else None


def is_cached(dispatcher, sig):
    """Whether ``sig`` is stored in the kernel cache, so that a call would load it instead of compiling (reads the
    cache's index file)."""
    cache = dispatcher._cache
    return isinstance(cache, KernelCache) and cache.has(sig, dispatcher.targetctx.codegen())


def compiling_elsewhere(dispatcher):
    """Whether another process holds ``dispatcher``'s compile lock (is compiling it into the cache now)."""
    cache = dispatcher._cache
    return isinstance(cache, KernelCache) and cache.compile_lock.held_elsewhere()
