"""Estimators in threads, as under ``joblib.parallel_backend("threading")`` (the kernels release the GIL): fits,
``partial_fit`` calls and predictions of different estimators in 4 threads at once give exactly what the same calls
give one after another, on both training paths and for a CNN; one fitted estimator serves 4 predicting threads."""
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from fastnn import CNNClassifier, MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=96, d=16, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)


def _jobs():
    """Four different estimators, each fitted, partially fitted twice more and asked for predictions."""
    X, y = _data()
    common = dict(max_iter=4, batch_size=16, random_state=0)
    return [
        (MLPClassifier(hidden_layer_sizes=(12,), fused=True, **common), X, y),
        (MLPClassifier(hidden_layer_sizes=(9, 7), activation="tanh", solver="sgd", fused=False, **common), X, y),
        (MLPRegressor(hidden_layer_sizes=(10,), alpha=1e-2, **common), X, X[:, 0] - X[:, 2]),
        (CNNClassifier(input_shape=(1, 4, 4), conv_layers=((2, 3),), hidden_layer_sizes=(8,), **common), X, y),
    ]


def _run(job):
    est, X, y = job
    est.fit(X, y)
    est.partial_fit(X, y)
    est.partial_fit(X[::-1], y[::-1])
    out = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
    return [p.copy() for p in est.coefs_ + est.intercepts_], list(est.loss_curve_), out


def _in_threads(fn, items):
    barrier = threading.Barrier(len(items))

    def run(item):
        barrier.wait()  # every thread enters fit at the same moment
        return fn(item)

    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(run, items))


def test_four_estimators_fit_partial_fit_and_predict_in_threads_as_in_sequence():
    sequential = [_run(job) for job in _jobs()]
    threaded = _in_threads(_run, _jobs())
    for (params_s, curve_s, out_s), (params_t, curve_t, out_t) in zip(sequential, threaded):
        for a, b in zip(params_s, params_t):
            np.testing.assert_array_equal(a, b)
        assert curve_s == curve_t
        np.testing.assert_array_equal(out_s, out_t)


@pytest.mark.parametrize("fused", ["auto", False])
def test_one_estimator_shared_by_four_predicting_threads(fused):
    X, y = _data()
    est = MLPClassifier(hidden_layer_sizes=(12,), max_iter=3, random_state=0, fused=fused).fit(X, y)
    rows = [X[i::4] for i in range(4)]
    expected = [(est.predict_proba(r), est.predict(r)) for r in rows]
    results = _in_threads(lambda r: [(est.predict_proba(r), est.predict(r)) for _ in range(5)], rows)
    for per_thread, (proba, labels) in zip(results, expected):
        for p, l in per_thread:
            np.testing.assert_array_equal(p, proba)
            np.testing.assert_array_equal(l, labels)
