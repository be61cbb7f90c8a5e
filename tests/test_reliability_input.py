"""Reliability, input side: every bad input gets an error that says what is wrong and what to do; every odd but
valid input (layouts, read-only and memmapped arrays, narrow dtypes, pandas, sparse, one row) gives exactly the
clean-input answer. Estimator level; the layer boundary is property-tested in test_reliability_layers.py."""
import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

import fastnn.kernels.dense as dense_kernels
from fastnn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = dict(hidden_layer_sizes=(6,), max_iter=3, random_state=0)


@pytest.fixture(scope="module")
def data():
    """Integer-valued features (exactly representable in float16/uint8), 3 balanced classes."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 6, size=(60, 4)).astype(np.float64)
    y = np.arange(60) % 3
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return MLPClassifier(**SMALL).fit(X, y)


@pytest.fixture(scope="module")
def fitted64(data):
    X, y = data
    return MLPClassifier(**SMALL, dtype=np.float64).fit(X, y)


# ------------------------------------------------------------------ bad input: clear errors
def _with(X, i, j, value):
    X = X.copy()
    X[i, j] = value
    return X


def _string_frame(X):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=list("abcd"))
    df["d"] = np.where(X[:, 3] > 2, "high", "low")
    return df


# case -> (estimator class, X transform, y transform, exception, message pattern)
BAD_FIT_INPUT = {
    "nan_in_X": (MLPClassifier, lambda X: _with(X, 3, 1, np.nan), None, ValueError, "Input X contains NaN"),
    "inf_in_X": (MLPClassifier, lambda X: _with(X, 3, 1, np.inf), None, ValueError, "Input X contains infinity"),
    "float64_X_overflowing_float32": (
        MLPClassifier, lambda X: _with(X, 0, 0, 1e39), None, ValueError, "infinity or a value too large"),
    "nan_in_y_regressor": (MLPRegressor, None, lambda y: np.where(y == 1, np.nan, y), ValueError, "y contains NaN"),
    "inf_in_y_regressor": (MLPRegressor, None, lambda y: np.where(y == 1, np.inf, y), ValueError, "y contains inf"),
    "nan_in_y_classifier": (
        MLPClassifier, None, lambda y: np.where(y == 1, np.nan, y), ValueError, "y contains NaN"),
    "empty_X": (MLPClassifier, lambda X: X[:0], lambda y: y[:0], ValueError, "0 sample"),
    "1d_X": (MLPClassifier, lambda X: X[:, 0], None, ValueError, "(?s)Expected 2D array.*Reshape your data"),
    "3d_X": (MLPClassifier, lambda X: X.reshape(60, 2, 2), None, ValueError,
             r"got a 3-D X of shape \(60, 2, 2\); it expects X of shape \(n_samples, n_features\); flatten "
             r"each sample with X.reshape\(len\(X\), -1\)"),
    "3d_X_regressor": (MLPRegressor, lambda X: X.reshape(60, 2, 2), None, ValueError, "got a 3-D X"),
    "numeric_strings_X": (MLPClassifier, lambda X: X.astype(str), None, ValueError,
                          "needs numeric features, got strings.*OneHotEncoder.*astype\\(float\\)"),
    "object_strings_X": (MLPClassifier, lambda X: np.where(X > 2, "a", "b").astype(object), None, ValueError,
                         "needs numeric features, got strings"),
    "dataframe_string_column": (MLPRegressor, _string_frame, None, ValueError, "got strings.*OrdinalEncoder"),
    "complex_X": (MLPClassifier, lambda X: X + 1j, None, ValueError, "Complex data not supported.*X.real"),
    "X_longer_than_y": (MLPClassifier, None, lambda y: y[:-1], ValueError,
                        "X has 60 rows but y has 59; pass one target per row"),
    "y_longer_than_X": (MLPRegressor, lambda X: X[:-2], None, ValueError, "X has 58 rows but y has 60"),
    "single_class": (MLPClassifier, None, lambda y: np.full_like(y, 7), ValueError,
                     "at least 2 classes.*only one class \\(7\\).*classes="),
}


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # the 1e39 -> float32 case
@pytest.mark.parametrize("case", sorted(BAD_FIT_INPUT))
def test_bad_fit_input_raises_actionable_error(case, data):
    cls, fx, fy, exc, match = BAD_FIT_INPUT[case]
    X, y = data
    X = fx(X) if fx else X
    y = fy(y) if fy else y
    with pytest.raises(exc, match=match):
        cls(**SMALL).fit(X, y)


def test_predict_with_wrong_n_features_or_bad_X_raises(fitted, data):
    X, _ = data
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4 features"):
        fitted.predict(X[:, :3])
    with pytest.raises(ValueError, match="got a 3-D X"):
        fitted.predict_proba(X.reshape(60, 2, 2))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fitted.predict(_with(X, 0, 0, np.nan))
    with pytest.raises(ValueError, match="needs numeric features"):
        fitted.predict(X.astype(str))
    with pytest.raises(ValueError, match="Complex data not supported"):
        fitted.predict(X + 0j)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba", "score"])
def test_unfitted_estimator_raises_not_fitted_error(method, data):
    X, y = data
    args = (X, y) if method == "score" else (X,)
    with pytest.raises(NotFittedError, match="not fitted yet. Call 'fit'"):
        getattr(MLPClassifier(), method)(*args)
    if method in ("predict", "score"):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            getattr(MLPRegressor(), method)(*args)


def test_partial_fit_label_errors_name_the_labels(data):
    X, y = data
    clf = MLPClassifier(**SMALL).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"classes not in `self.classes_`: \[5\].*classes="):
        clf.partial_fit(X[:3], [0, 1, 5])
    with pytest.raises(ValueError, match=r"at least 2 classes in `classes`, got \[1\]"):
        MLPClassifier(**SMALL).partial_fit(X[y == 1], y[y == 1], classes=[1])
    single = MLPClassifier(**SMALL).partial_fit(X[y == 1], y[y == 1], classes=[0, 1, 2])
    assert single.predict_proba(X).shape == (60, 3)  # one class per batch is fine once classes are declared


BAD_HYPERPARAMETERS = {
    "hidden_size_0_in_tuple": (dict(hidden_layer_sizes=(4, 0)), ValueError,
                               r"hidden_layer_sizes must be > 0 integers.*got \[4, 0\]; pass e.g. \(100,\)"),
    "hidden_size_0": (dict(hidden_layer_sizes=0), ValueError, "'hidden_layer_sizes' parameter.*Got 0 instead"),
    "hidden_size_float": (dict(hidden_layer_sizes=(2.5,)), ValueError, "must be > 0 integers"),
    "unknown_activation": (dict(activation="gelu"), ValueError, "'activation' parameter.*'relu'.*Got 'gelu'"),
    "unknown_solver": (dict(solver="newton"), ValueError, "'solver' parameter.*'adam'.*Got 'newton'"),
    "negative_alpha": (dict(alpha=-1.0), ValueError, r"'alpha' parameter.*range \[0.0, inf\). Got -1.0"),
    "zero_learning_rate": (dict(learning_rate_init=0.0), ValueError, r"'learning_rate_init'.*\(0.0, inf\). Got 0.0"),
    "batch_size_0": (dict(batch_size=0), ValueError, r"'batch_size' parameter.*\[1, inf\). Got 0"),
    "validation_fraction_1": (dict(validation_fraction=1.0, early_stopping=True), ValueError,
                              r"'validation_fraction'.*\[0.0, 1.0\). Got 1.0"),
}


@pytest.mark.parametrize("case", sorted(BAD_HYPERPARAMETERS))
def test_bad_hyperparameter_raises_with_the_allowed_range(case, data):
    params, exc, match = BAD_HYPERPARAMETERS[case]
    X, y = data
    with pytest.raises(exc, match=match):
        MLPClassifier(**{**SMALL, **params}).fit(X, y)


BAD_SAMPLE_WEIGHT = {
    "wrong_length": (np.ones(59), r"sample_weight has shape \(59,\) but X has 60 samples; pass one weight per"),
    "2d": (np.ones((60, 1)), r"sample_weight has shape \(60, 1\)"),
    "all_zero": (np.zeros(60), "zero for every sample, so there is nothing to fit"),
    "negative": (np.r_[-1.0, np.ones(59)], "Negative values in data passed to `sample_weight`"),
    "nan": (np.r_[np.nan, np.ones(59)], "sample_weight contains NaN"),
}


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("case", sorted(BAD_SAMPLE_WEIGHT))
def test_bad_sample_weight_raises(case, solver, data):
    sw, match = BAD_SAMPLE_WEIGHT[case]
    X, y = data
    for est in (MLPClassifier(**SMALL, solver=solver), MLPRegressor(**SMALL, solver=solver)):
        with pytest.raises(ValueError, match=match):
            est.fit(X, y, sample_weight=sw)


def test_zero_weight_minibatch_is_skipped_not_divided_by_zero(data):
    """A mini-batch whose weights are all zero carries no data: no step (scikit-learn raises ZeroDivisionError).
    With shuffle=False the remaining steps are exactly those of a fit on the weighted rows alone."""
    X, y = data
    sw = np.r_[np.zeros(20), np.ones(40)]
    params = dict(SMALL, shuffle=False, batch_size=20, dtype=np.float64)
    weighted = MLPClassifier(**params).fit(X, y, sample_weight=sw)
    subset = MLPClassifier(**params).fit(X[20:], y[20:])
    for a, b in zip(weighted.coefs_ + weighted.intercepts_, subset.coefs_ + subset.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(weighted.loss_curve_).all()


def test_lbfgs_sparse_penalty_kept_when_first_chunk_has_zero_weight(data, monkeypatch):
    """L-BFGS adds the L2 penalty with the first chunk that carries weight, not with chunk 0 regardless."""
    import fastnn.training.solvers as solvers

    X, y = data
    sw = np.r_[np.zeros(20), np.ones(40)]
    params = dict(SMALL, solver="lbfgs", alpha=1.0, dtype=np.float64)
    dense = MLPClassifier(**params).fit(X, y, sample_weight=sw)
    monkeypatch.setattr(solvers, "SPARSE_CHUNK", 20)  # three chunks, the first all-zero
    chunked = MLPClassifier(**params).fit(sp.csr_matrix(X), y, sample_weight=sw)
    np.testing.assert_allclose(chunked.loss_, dense.loss_, rtol=1e-10)
    np.testing.assert_allclose(chunked.coefs_[0], dense.coefs_[0], rtol=1e-8, atol=1e-12)


# ------------------------------------------------------------------ odd but valid input: same answer
def _strided(X):
    big = np.zeros((X.shape[0] * 2, X.shape[1] * 3))
    big[::2, ::3] = X
    return big[::2, ::3]


def _read_only(X):
    X = X.astype(np.float32)  # the model's dtype: reaches the kernels without a conversion copy
    X.flags.writeable = False
    return X


def _memmap(X, tmp_path_factory):
    path = tmp_path_factory.mktemp("memmap") / "X.joblib"
    joblib.dump(np.ascontiguousarray(X, dtype=np.float32), path)
    return joblib.load(path, mmap_mode="r")


def _frame(X):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(X, columns=list("abcd"))


VARIANTS = {
    "fortran": np.asfortranarray,
    "strided_view": _strided,
    "reversed_rows_twice": lambda X: X[::-1][::-1],
    "read_only_float32": _read_only,
    "joblib_memmap": None,  # needs tmp_path_factory
    "float16": lambda X: X.astype(np.float16),
    "int64": lambda X: X.astype(np.int64),
    "uint8": lambda X: X.astype(np.uint8),
    "list_of_lists": lambda X: X.tolist(),
    "pandas_dataframe": _frame,
    "csr": sp.csr_matrix,
    "csc": sp.csc_matrix,
}


def _variant(name, X, tmp_path_factory):
    return _memmap(X, tmp_path_factory) if name == "joblib_memmap" else VARIANTS[name](X)


@pytest.mark.filterwarnings("ignore:X has feature names:UserWarning")  # the model was fitted on an ndarray
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_odd_input_predicts_exactly_as_clean_input(name, fitted, data, tmp_path_factory):
    X, _ = data
    Xv = _variant(name, X, tmp_path_factory)
    np.testing.assert_array_equal(fitted.predict_proba(Xv), fitted.predict_proba(X), err_msg=f"ours({name}) vs clean")


@pytest.mark.parametrize("name", ["fortran", "strided_view", "joblib_memmap", "uint8", "pandas_dataframe", "csc"])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_odd_input_fits_exactly_as_clean_input(name, solver, data, tmp_path_factory):
    X, y = data
    params = dict(SMALL, solver=solver, dtype=np.float64)
    clean = MLPClassifier(**params).fit(X, y)
    odd = MLPClassifier(**params).fit(_variant(name, X, tmp_path_factory), y)
    for a, b in zip(odd.coefs_ + odd.intercepts_, clean.coefs_ + clean.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"ours({name}) vs clean")


def test_bool_X_equals_its_float_version(data):
    X, y = data
    Xb = X > 2
    a = MLPClassifier(**SMALL).fit(Xb, y)
    b = MLPClassifier(**SMALL).fit(Xb.astype(np.float64), y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    np.testing.assert_array_equal(a.predict_proba(Xb), b.predict_proba(Xb.astype(np.float64)))


def test_read_only_input_does_not_compile_read_only_kernel_variants(fitted, data):
    """Read-only arrays are copied at the layer boundary; a kernel typed for them would cost ~1 s of compile."""
    X, _ = data
    fitted.predict_proba(_read_only(X))
    assert all(
        getattr(arg, "mutable", True) for sig in dense_kernels.dense_forward.signatures for arg in sig
    ), dense_kernels.dense_forward.signatures


def test_batch_of_one_row_matches_full_batch(fitted64, data):
    X, y = data
    full = fitted64.predict_proba(X)
    for i in (0, 17, 59):
        np.testing.assert_allclose(fitted64.predict_proba(X[i : i + 1]), full[i : i + 1], rtol=1e-12, atol=1e-15)
    assert fitted64.predict(X[:1]).shape == (1,)
    reg = MLPRegressor(**SMALL, dtype=np.float64).fit(X, y.astype(float))
    np.testing.assert_allclose(reg.predict(X[5:6]), reg.predict(X)[5:6], rtol=1e-12)
    # a single-sample fit (one row, partial_fit with declared classes) also works
    one = MLPClassifier(**SMALL).partial_fit(X[:1], y[:1], classes=[0, 1, 2])
    assert np.isfinite(one.predict_proba(X)).all()
