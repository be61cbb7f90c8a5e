"""Every private name of another library that fastnn builds on, in one place. An upgrade that removes or renames
one fails here, by name, and not in a user's fit; pyproject.toml caps those libraries at the newest version tested
(numba, scikit-learn). Public, documented names (numba.core.event, skl2onnx's converter API) are not listed."""
import importlib

import pytest

from fastnn.training.callbacks import CALLBACK_ATTRS, sklearn_callback_module

# (module, attribute path) pairs, as fastnn uses them.
NUMBA = [
    # kernels/_jit.py: fastnn's cache locations and a cache class per kernel
    ("numba.core.caching", "_CacheLocator"),
    ("numba.core.caching", "_CacheLocator.ensure_cache_path"),
    ("numba.core.caching", "_CacheLocator.get_suitable_cache_subpath"),
    ("numba.core.caching", "_SourceFileBackedLocatorMixin"),
    ("numba.core.caching", "_SourceFileBackedLocatorMixin.get_source_stamp"),
    ("numba.core.caching", "CompileResultCacheImpl"),
    ("numba.core.caching", "CompileResultCacheImpl._locator_classes"),
    ("numba.core.caching", "CompileResultCacheImpl.get_filename_base"),
    ("numba.core.caching", "FunctionCache"),
    ("numba.core.caching", "FunctionCache._impl_class"),
    ("numba.core.caching", "FunctionCache._index_key"),
    ("numba.core.caching", "FunctionCache.load_overload"),
    ("numba.core.caching", "FunctionCache.save_overload"),
    # kernels/_jit.py: a cached kernel loaded without refreshing the whole target (_prepare_to_load)
    ("numba.core.caching", "FunctionCache._load_overload"),
    ("numba.core.caching", "FunctionCache._guard_against_spurious_io_errors"),
    ("numba.core.runtime", "rtsys.initialize"),
    ("numba.cpython.hashing", "_hashsecret"),
    # kernels/_cache_file.py: the checked index and data files
    ("numba.core.caching", "IndexDataCacheFile"),
    ("numba.core.caching", "IndexDataCacheFile._load_index"),
    ("numba.core.caching", "IndexDataCacheFile._save_index"),
    ("numba.core.caching", "IndexDataCacheFile._data_path"),
    ("numba.core.caching", "IndexDataCacheFile._open_for_write"),
    ("numba.core.serialize", "dumps"),
    # kernels/blas.py: the BLAS calls of Numba's np.dot, emitted into the kernels
    ("numba.np.linalg", "call_xxgemm"),
    ("numba.np.linalg", "call_xxgemv"),
    ("numba.np.linalg", "call_xxdot"),
    ("numba.np.linalg", "ensure_blas"),
    ("numba.np.arrayobj", "make_array"),
]

SKLEARN = [
    ("sklearn.base", "_fit_context"),
    ("sklearn.utils._param_validation", "Interval"),
    ("sklearn.utils._param_validation", "Options"),
    ("sklearn.utils._param_validation", "StrOptions"),
    ("sklearn.utils.optimize", "_check_optimize_result"),
    ("sklearn.utils.validation", "_check_sample_weight"),
    ("sklearn.utils.validation", "_num_samples"),
    ("sklearn.utils.multiclass", "_check_partial_fit_first_call"),
]

# fastnn/training/callbacks.py, scikit-learn >= 1.9 only.
SKLEARN_CALLBACK = [
    ("sklearn.callback", "CallbackSupportMixin._init_callback_context"),
    ("sklearn.callback", "CallbackSupportMixin.set_callbacks"),
    ("sklearn.callback", "CallbackContext.call_on_fit_task_begin"),
    ("sklearn.callback", "CallbackContext.call_on_fit_task_end"),
    ("sklearn.callback", "CallbackContext.subcontext"),
]


def _resolve(module, path):
    obj = importlib.import_module(module)
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _missing(names):
    missing = []
    for module, path in names:
        try:
            _resolve(module, path)
        except (ImportError, AttributeError) as exc:
            missing.append(f"{module}.{path} ({type(exc).__name__}: {exc})")
    return missing


def test_numba_private_names_fastnn_uses_exist():
    import numba

    assert _missing(NUMBA) == [], f"numba {numba.__version__} lacks private names kernels/_jit.py uses"
    # either spelling of the NUMBA_CACHE_DIR locator (0.60 has the underscore)
    from numba.core import caching

    assert hasattr(caching, "UserProvidedCacheLocator") or hasattr(caching, "_UserProvidedCacheLocator")


def test_numba_cache_instance_attributes_fastnn_uses_exist():
    """Attributes set in __init__ cannot be found on the class: look at a real kernel's cache."""
    from fastnn.kernels import dense
    from fastnn.kernels._jit import KernelCache

    dispatcher = dense.dense_forward
    cache = dispatcher._cache
    if not isinstance(cache, KernelCache):
        pytest.skip("kernels run uncached here (no writable cache folder)")
    for name in ("_cache_path", "_impl", "_cache_file"):
        assert hasattr(cache, name), f"numba's FunctionCache no longer sets {name}"
    assert hasattr(cache._impl, "filename_base") and hasattr(cache._impl, "locator")
    numba_file = cache._cache_file
    for name in ("_index_path", "_data_name_pattern", "_source_stamp", "_version", "_cache_path"):
        assert hasattr(numba_file, name), f"numba's IndexDataCacheFile no longer sets {name}"
    assert "{number:d}" in numba_file._data_name_pattern, numba_file._data_name_pattern
    for name in ("targetctx", "overloads", "typeof_pyval"):
        assert hasattr(dispatcher, name), f"numba's Dispatcher no longer has {name}"


def test_sklearn_private_names_fastnn_uses_exist():
    import sklearn

    assert _missing(SKLEARN) == [], f"scikit-learn {sklearn.__version__} lacks private names fastnn uses"


@pytest.mark.skipif(sklearn_callback_module() is None, reason="sklearn.callback needs scikit-learn >= 1.9")
def test_sklearn_callback_private_names_fastnn_uses_exist():
    from sklearn.callback import ProgressBar

    import fastnn

    assert _missing(SKLEARN_CALLBACK) == []
    est = fastnn.MLPClassifier().set_callbacks(ProgressBar())
    assert hasattr(est, "_skl_callbacks") and "_skl_callbacks" in CALLBACK_ATTRS
