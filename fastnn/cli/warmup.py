"""``fastnn.warmup()``: compile, ahead of time, the kernels the estimators use, into the kernel cache.

For container images and CI caches: run ``python -m fastnn warmup`` once while building the image (or before
saving the cache), and every later fit loads compiled kernels instead of compiling them, including the fused
whole-epoch kernel that ``fused='auto'`` otherwise compiles only when a fit is long enough to repay it.

Warm-up fits tiny models, so it compiles exactly the signatures real fits use: every output loss, every solver,
both training paths and prediction of the MLPs, and the convolution and pooling kernels of ``CNNClassifier``.
"""
import time
import warnings

import numpy as np

from ..kernels import codes
from ..network import background
from .compile_timer import compile_seconds


def _data(n=24, features=9, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features))
    return X, rng.integers(0, 3, n), rng.integers(0, 2, (n, 2))


def _mlp_fits(dtype, fused):
    from ..estimators.mlp import MLPClassifier, MLPRegressor

    X, labels, indicator = _data()
    common = dict(hidden_layer_sizes=(4,), max_iter=1, batch_size=8, dtype=dtype, fused=fused, random_state=0)
    for solver in ("adam", "sgd", "adagrad", "rmsprop"):
        MLPClassifier(solver=solver, **common).fit(X, labels).predict_proba(X[:1])
    MLPClassifier(**common).fit(X, labels == 0).predict_proba(X)  # binary: sigmoid cross-entropy
    MLPClassifier(**common).fit(X, indicator).predict(X)  # multi-label
    MLPClassifier(**common).fit(X, labels, sample_weight=np.ones(len(X)))
    MLPRegressor(**common).fit(X, X[:, 0]).predict(X)
    MLPRegressor(loss="poisson", **common).fit(X, labels).predict(X)


# The fused-epoch variants (loss code, optimizer rule) the fits of ``_mlp_fits`` use.
_VARIANTS = (
    *((codes.SOFTMAX_LABELS, rule) for rule in (codes.ADAM, codes.SGD, codes.ADAGRAD, codes.RMSPROP)),
    *((loss, codes.ADAM) for loss in (codes.SIGMOID, codes.SQUARED, codes.POISSON)),
)
_VARIANT_CHILD = """
import json, sys
from fastnn.cli.compile_timer import compile_seconds
from fastnn.network.background import compile_fused
with compile_seconds() as seconds:
    compile_fused(sys.argv[1], (int(sys.argv[2]), int(sys.argv[3])))
print(json.dumps(seconds))
"""


def _compile_variants(dtype):
    """Compile the fused-epoch variants into the cache in one process per core at a time (each is a separate
    compile of 1-2 s); returns ``{kernel name: compile seconds}`` summed over the processes."""
    import json
    import os
    import subprocess
    import sys

    from ..kernels import cache_dir
    from ..network.background import missing

    seconds = {}
    if cache_dir() is None:  # uncached: nothing a child compiles would reach this process
        return seconds
    pending, running = missing(dtype, _VARIANTS), []
    while pending or running:
        while pending and len(running) < max(1, os.cpu_count() or 1):
            loss, rule = pending.pop(0)
            running.append(subprocess.Popen([sys.executable, "-c", _VARIANT_CHILD, dtype, str(loss), str(rule)],
                                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
        child = running.pop(0)
        out, _ = child.communicate()
        if child.returncode == 0 and out.strip():
            for name, s in json.loads(out.strip().splitlines()[-1]).items():
                seconds[name] = seconds.get(name, 0.0) + s
    return seconds


def _cnn_fits(dtype):
    from ..estimators.cnn import CNNClassifier

    X, labels, _ = _data(features=64)  # 8 x 8 images
    # 8x8 images: both convolutions take the channels-last kernels (the other layouts are for 16x16 and larger)
    # fused=True: the prediction runs the conv stack channels last, compiling its kernels ('auto' then loads them)
    CNNClassifier(conv_layers=((16, 3), (2, 3)), max_iter=1, batch_size=8, dtype=dtype, fused=True,
                  random_state=0).fit(X, labels).predict(X)


def warmup(dtype="float32", cnn=True, verbose=True):
    """Compile the estimators' kernels for ``dtype`` ('float32', 'float64' or 'both') into the kernel cache.

    Returns ``{stage: {kernel name: compile seconds}}`` (kernels loaded from the cache take no compile time and are
    not listed); with ``verbose``, prints what was compiled and how long it took.

    Parameters
    ----------
    dtype : {"float32", "float64", "both"}, default="float32"
        The floating-point type(s) to compile for.
    cnn : bool, default=True
        Also compile the convolution and pooling kernels.
    verbose : bool, default=True
        Print what was compiled and how long it took.

    Returns
    -------
    compiled : dict
        ``{stage: {kernel name: compile seconds}}``.

    Raises
    ------
    ValueError
        If ``dtype`` is not one of the three choices.

    Examples
    --------
    >>> import fastnn
    >>> compiled = fastnn.warmup(verbose=False)  # doctest: +SKIP
    """
    dtypes = {"float32": ["float32"], "float64": ["float64"], "both": ["float32", "float64"]}.get(str(dtype))
    if dtypes is None:
        raise ValueError(f"dtype must be 'float32', 'float64' or 'both', got {dtype!r}.")
    stages = []
    for name in dtypes:
        stages += [(f"MLP layer by layer, {name}", lambda d=name: _mlp_fits(d, False)),
                   (f"MLP fused epoch and prediction, {name}", lambda d=name: _compile_variants(d)),
                   (f"MLP fused fits, {name}", lambda d=name: _mlp_fits(d, True))]
        if cnn:
            stages.append((f"CNN, {name}", lambda d=name: _cnn_fits(d)))
    report = {}
    for stage, run in stages:
        start = time.perf_counter()
        with compile_seconds() as seconds, warnings.catch_warnings(), background.paused():
            warnings.simplefilter("ignore")  # one-epoch fits do not converge; that is not the point here
            in_children = run()
        for kernel, s in (in_children or {}).items():
            seconds[kernel] = seconds.get(kernel, 0.0) + s
        report[stage] = dict(sorted(seconds.items(), key=lambda kv: -kv[1]))
        if verbose:
            kernels = ", ".join(f"{k} {s:.2f} s" for k, s in report[stage].items()) or "all loaded from the cache"
            print(f"{stage}: {time.perf_counter() - start:.2f} s ({len(report[stage])} compiled: {kernels})")
    return report
