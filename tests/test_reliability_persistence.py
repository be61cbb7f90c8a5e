"""Reliability, persistence: pickle and joblib (also memory-mapped) round trips predict identically, in this and
a fresh process; pickles reference no compiled code; a pickle from another fastnn version warns and loads; and
partial_fit after a round trip continues bit-identically (optimizer moments, step count, learning rate, dropout
generator state all kept)."""
import io
import pickle
import pickletools
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

import fastnn
from fastnn import MLPClassifier, MLPRegressor
from fastnn.exceptions import InconsistentVersionWarning

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# one configuration per kind of optimizer state
CONFIGS = {
    "adam": dict(),
    "adamw": dict(solver="adamw"),
    "sgd_nesterov": dict(solver="sgd", learning_rate_init=0.05),
    "sgd_momentum_invscaling": dict(solver="sgd", nesterovs_momentum=False, learning_rate="invscaling",
                                    learning_rate_init=0.5),
    "adagrad": dict(solver="adagrad", learning_rate_init=0.05),
    "rmsprop": dict(solver="rmsprop"),
    "adam_dropout": dict(dropout=0.2),
}


def _fit(iris, name, **extra):
    X, y = iris
    params = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0, **CONFIGS[name])
    return MLPClassifier(**{**params, **extra}).fit(X, y)


def _arrays(est):
    return est.coefs_ + est.intercepts_


def _assert_bit_identical(a, b, what):
    for wa, wb in zip(_arrays(a), _arrays(b)):
        assert wa.dtype == wb.dtype and wa.tobytes() == wb.tobytes(), what


def _memmap_round_trip(est, tmp_path):
    joblib.dump(est, tmp_path / "model.joblib")
    return joblib.load(tmp_path / "model.joblib", mmap_mode="r")


ROUND_TRIPS = {
    "pickle": lambda est, tmp_path: pickle.loads(pickle.dumps(est)),
    "joblib": lambda est, tmp_path: (joblib.dump(est, tmp_path / "m.joblib"), joblib.load(tmp_path / "m.joblib"))[1],
    "joblib_mmap": _memmap_round_trip,
}


@pytest.mark.parametrize("trip", sorted(ROUND_TRIPS))
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_partial_fit_after_round_trip_is_bit_identical(iris, name, trip, tmp_path):
    X, y = iris
    original = _fit(iris, name)
    copy = ROUND_TRIPS[trip](original, tmp_path)
    np.testing.assert_array_equal(copy.predict_proba(X), original.predict_proba(X))
    for step in range(2):
        original.partial_fit(X, y)
        copy.partial_fit(X, y)
        _assert_bit_identical(original, copy, f"{name}/{trip}: partial_fit #{step + 1} after the round trip")
    assert copy._optimizer.t == original._optimizer.t and copy._optimizer.lr == original._optimizer.lr


def test_round_trip_of_unused_copy_keeps_dropout_state(iris):
    """Pickling a just-unpickled model (network not rebuilt yet) keeps the dropout generators' state too."""
    X, y = iris
    original = _fit(iris, "adam_dropout")
    twice = pickle.loads(pickle.dumps(pickle.loads(pickle.dumps(original))))
    original.partial_fit(X, y)
    twice.partial_fit(X, y)
    _assert_bit_identical(original, twice, "dropout masks after two round trips")


def test_failed_partial_fit_keeps_dropout_state(iris):
    X, y = iris
    a, b = _fit(iris, "adam_dropout", learning_rate_init=0.05), _fit(iris, "adam_dropout", learning_rate_init=0.05)
    with pytest.raises(ValueError, match="non-finite"):
        a.partial_fit(np.full((150, 4), 3e38), y)
    a.partial_fit(X, y)
    b.partial_fit(X, y)
    _assert_bit_identical(a, b, "a failed partial_fit must not advance the dropout generator")


def _globals_referenced(data):
    """Every (module, name) a pickle would import when loaded."""
    seen = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            seen.add((module, name))
            return super().find_class(module, name)

    Recorder(io.BytesIO(data)).load()
    return seen


ALLOWED_MODULES = ("builtins", "copyreg", "numpy", "sklearn.preprocessing", "fastnn.estimators", "_codecs")


@pytest.mark.parametrize("name", ["adam_dropout", "sgd_nesterov"])
def test_pickle_references_no_compiled_code(iris, name, tmp_path):
    X, y = iris
    for est in (_fit(iris, name), MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)):
        est.predict(X)  # the network (with its Numba-backed layers) exists now
        data = pickle.dumps(est)
        referenced = _globals_referenced(data)
        assert all(module.startswith(ALLOWED_MODULES) for module, _ in referenced), sorted(referenced)
        listing = io.StringIO()
        pickletools.dis(data, out=listing)
        for forbidden in ("numba", "CPUDispatcher", "llvmlite", "fastnn.kernels", "fastnn.layers", "Sequential"):
            assert forbidden not in listing.getvalue(), forbidden
        joblib.dump(est, tmp_path / "m.joblib")
        raw = (tmp_path / "m.joblib").read_bytes()
        assert b"numba" not in raw and b"CPUDispatcher" not in raw and b"fastnn.layers" not in raw


def test_pickle_from_another_fastnn_version_warns_and_loads(iris, monkeypatch):
    X, _ = iris
    est = _fit(iris, "adam")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same version: no warning at all
        pickle.loads(pickle.dumps(est))
    monkeypatch.setattr(fastnn._version, "__version__", "0.0.1")
    old = pickle.dumps(est)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning, match=f"from fastnn version 0.0.1 when using version "
                                                        f"{fastnn.__version__}.*refit") as record:
        loaded = pickle.loads(old)
    warning = record[0].message
    assert (warning.original_fastnn_version, warning.current_fastnn_version) == ("0.0.1", fastnn.__version__)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    # a pickle written before versions were recorded also warns and loads
    state = est.__getstate__()
    del state["_fastnn_version"]
    bare = MLPClassifier.__new__(MLPClassifier)
    with pytest.warns(InconsistentVersionWarning, match="from fastnn version unknown"):
        bare.__setstate__(state)
    np.testing.assert_array_equal(bare.predict_proba(X), est.predict_proba(X))


def test_joblib_mmap_model_predicts_and_trains_in_a_fresh_process(iris, tmp_path):
    """The memory-mapped model loaded in a new interpreter predicts bit-identically and its partial_fit
    produces exactly the weights partial_fit produces here."""
    X, y = iris
    est = _fit(iris, "sgd_nesterov")
    joblib.dump(est, tmp_path / "model.joblib")
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    code = (
        "import joblib, numpy as np\n"
        "m = joblib.load('model.joblib', mmap_mode='r')\n"
        "X, y = np.load('X.npy'), np.load('y.npy')\n"
        "np.save('proba.npy', m.predict_proba(X))\n"
        "m.partial_fit(X, y)\n"
        "np.save('W0.npy', m.coefs_[0]); np.save('b1.npy', m.intercepts_[1])\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=120)
    np.testing.assert_array_equal(np.load(tmp_path / "proba.npy"), est.predict_proba(X))
    est.partial_fit(X, y)
    assert np.load(tmp_path / "W0.npy").tobytes() == est.coefs_[0].tobytes()
    assert np.load(tmp_path / "b1.npy").tobytes() == est.intercepts_[1].tobytes()
