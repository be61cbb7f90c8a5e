"""``fastnn.show_versions()``: what a bug report needs, in the manner of ``sklearn.show_versions()``."""
import os
import platform
import sys
from importlib import metadata

DEPENDENCIES = ("numpy", "numba", "llvmlite", "scipy", "scikit-learn", "platformdirs", "threadpoolctl")
OPTIONAL = ("tqdm", "rich", "matplotlib", "dask", "dask-ml", "onnx", "skl2onnx", "onnxruntime", "skops", "pandas")


def _version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def folder_size(path):
    files = size = 0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                size += os.path.getsize(os.path.join(folder, name))
                files += 1
            except OSError:  # removed meanwhile by another process
                pass
    return files, size


def _blas_lines():
    """One line per BLAS/OpenMP library loaded by NumPy, SciPy (whose BLAS Numba's GEMMs call) and Numba."""
    import numpy  # noqa: F401  (load the libraries threadpoolctl inspects)
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info

    lines = []
    for lib in threadpool_info():
        extra = f", {lib['architecture']}" if lib.get("architecture") else ""
        lines.append(
            f"{lib['internal_api']} {lib.get('version')} ({lib['user_api']}, {lib['num_threads']} threads{extra}): "
            f"{lib['filepath']}"
        )
    return lines or ["none found"]


def _cache_lines():
    from ..kernels import cache_dir, damaged_entries

    folder = cache_dir()
    if folder is None:
        return ["location: none writable, kernels run uncached (set NUMBA_CACHE_DIR)"]
    files, size = folder_size(folder)
    bad = damaged_entries(folder)
    unusable = f"entries that cannot be loaded: {len(bad)}" + (" (compiled and written again when used)" if bad else "")
    return [f"location: {folder}", f"size: {files} files, {size / 2**20:.1f} MiB", unusable,
            *(f"    {name}: {reason}" for name, reason in bad)]


def _numba_lines():
    import numba
    from llvmlite import binding

    return [
        f"threads: {numba.config.NUMBA_NUM_THREADS} (threading layer: {numba.config.THREADING_LAYER})",
        f"CPU: {binding.get_host_cpu_name()}",
        f"NUMBA_CACHE_DIR: {os.environ.get('NUMBA_CACHE_DIR') or '(not set)'}",
    ]


def report():
    """The text of ``show_versions()``."""
    import fastnn

    sections = {
        "System": [f"python: {sys.version.split()[0]} ({sys.executable})", f"machine: {platform.platform()}",
                   f"CPUs: {os.cpu_count()}"],
        "fastnn": [f"version: {fastnn.__version__}", f"location: {os.path.dirname(fastnn.__file__)}"],
        "Dependencies": [f"{name}: {_version(name)}" for name in DEPENDENCIES],
        "Optional": [f"{name}: {_version(name) or 'not installed'}" for name in OPTIONAL],
        "Numba": _numba_lines(),
        "BLAS and OpenMP (threadpoolctl)": _blas_lines(),
        "Kernel cache": _cache_lines(),
    }
    return "\n".join(f"\n{title}:\n" + "\n".join(f"    {line}" for line in lines) for title, lines in sections.items())


def show_versions():
    """Print fastnn's, Python's and the dependencies' versions, the BLAS libraries and their threads, and where the
    compiled kernels are cached and how much space they take: paste it into a bug report.

    Examples
    --------
    >>> import fastnn
    >>> fastnn.show_versions()  # doctest: +ELLIPSIS
    <BLANKLINE>
    System:
    ...
    """
    print(report())
