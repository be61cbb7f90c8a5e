"""``import fastnn`` does not import Numba: kernel modules load at their first use (``kernels/__init__.py``), also
when that first use happens in several threads at once."""
import json
import os
import subprocess
import sys
import textwrap


def _run(code):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_and_unpickling_load_no_kernel_and_a_fit_loads_them():
    out = _run("""
        import json, pickle, sys, warnings
        warnings.simplefilter("ignore")
        import numpy as np
        import fastnn
        from fastnn import MLPClassifier, NeuralNetClassifier
        from fastnn.layers import Dense, ReLU
        after_import = "numba" in sys.modules
        est = NeuralNetClassifier([Dense(4), ReLU()], max_iter=2)
        blob = pickle.dumps(est)
        pickle.loads(blob)
        before_fit = "numba" in sys.modules
        X = np.random.default_rng(0).normal(size=(40, 3)); y = (X[:, 0] > 0).astype(int)
        score = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y).score(X, y)
        print(json.dumps([after_import, before_fit, "numba" in sys.modules, score > 0]))
    """)
    assert out == [False, False, True, True]


def test_first_kernel_use_in_four_threads_at_once_matches_sequential_fits():
    out = _run("""
        import json, threading, warnings
        warnings.simplefilter("ignore")
        import numpy as np
        from fastnn import MLPClassifier
        X = np.random.default_rng(0).normal(size=(60, 5)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
        fit = lambda seed: MLPClassifier(hidden_layer_sizes=(6,), max_iter=4, random_state=seed).fit(X, y).predict_proba(X)
        results, barrier = {}, threading.Barrier(4)
        def work(seed):
            barrier.wait()  # all four reach their first kernel call together
            results[seed] = fit(seed)
        threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(json.dumps([bool(np.array_equal(results[s], fit(s))) for s in range(4)] + [len(results)]))
    """)
    assert out == [True, True, True, True, 4]


def test_the_floors_below_the_estimators_load_without_scikit_learn():
    """A background compile's process (``fastnn.network.background``) imports the network floor only: scikit-learn's
    import (about 1 s) would delay every fused kernel it brings. The estimators still come with ``from fastnn
    import ...``, and ``dir(fastnn)`` lists them before they are loaded."""
    out = _run("""
        import json, sys
        import fastnn
        from fastnn.network import background, sequential
        from fastnn.layers import Dense
        below = "sklearn" in sys.modules
        listed = {"MLPClassifier", "warmup", "datasets"} <= set(dir(fastnn))
        from fastnn import MLPClassifier
        print(json.dumps([below, listed, "sklearn" in sys.modules, MLPClassifier.__module__]))
    """)
    assert out == [False, True, True, "fastnn.estimators.mlp"]


LOADER = """
import json, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
from fastnn import CNNClassifier, MLPClassifier, MLPRegressor
rng = np.random.default_rng(0)
X = rng.normal(size=(40, 36)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
out = {}
if "classifiers" in sys.argv:
    out["mlp"] = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y).predict_proba(X).tolist()
    cnn = CNNClassifier(((3, 3),), input_shape=(1, 6, 6), max_iter=2, random_state=0)
    out["cnn"] = cnn.fit(X, y).predict_proba(X).tolist()
    out["registries"] = "numba.np.npyimpl" in sys.modules  # the ufunc lowering registry: a compile imports it
if "regressor" in sys.argv:
    out["reg"] = MLPRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, X[:, 0]).predict(X).tolist()
print(json.dumps(out))
"""


def _in_cache(cache, *what):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "FASTNN_BACKGROUND_COMPILE": "0"}
    result = subprocess.run([sys.executable, "-c", LOADER, *what], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_process_that_loads_cached_kernels_skips_numbas_compile_registries_and_still_compiles(tmp_path):
    """Loading a cached kernel readies only what running it needs (``kernels._jit._prepare_to_load``), not Numba's
    compile registries: the later process gets the compiling process's exact predictions without importing them,
    and a kernel it then compiles (the regressor's) gives what a process compiling from an empty cache gives."""
    compiled = _in_cache(tmp_path / "a", "classifiers")
    loaded = _in_cache(tmp_path / "a", "classifiers", "regressor")
    fresh = _in_cache(tmp_path / "b", "regressor")
    assert compiled["registries"] is True
    assert loaded["registries"] is False
    assert loaded["mlp"] == compiled["mlp"] and loaded["cnn"] == compiled["cnn"]
    assert loaded["reg"] == fresh["reg"]
