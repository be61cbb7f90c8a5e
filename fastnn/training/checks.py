"""Input checks of the estimators that ``validate_data`` would leave obscure or silent, each with a message the user
can act on: arrays of 3 or more dimensions, strings and complex numbers in X, mismatched lengths, bad sample
weights."""
import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _check_sample_weight, _num_samples


def check_features(X, estimator):
    """Reject 3-D or higher arrays, strings (numeric-looking strings included) and complex numbers in ``X``."""
    if sp.issparse(X):
        return
    name = type(estimator).__name__
    ndim = getattr(X, "ndim", None)
    if ndim is not None and ndim > 2:
        raise ValueError(f"{name} got a {ndim}-D X of shape {X.shape}; it expects X of shape {estimator._X_shape_hint}.")
    # numpy arrays have one dtype, DataFrames one per column; lists are left to validate_data
    dtypes = list(X.dtypes) if hasattr(X, "dtypes") and not hasattr(X, "dtype") else [getattr(X, "dtype", None)]
    kinds = {getattr(dtype, "kind", None) for dtype in dtypes}
    if "c" in kinds:
        raise ValueError(
            f"Complex data not supported: {name} trains on real numbers, got complex values in X; pass X.real, "
            "np.abs(X), or the real and imaginary parts as separate features."
        )
    if kinds & {"U", "S"} or ("O" in kinds and _holds_strings(X)):
        raise ValueError(  # scikit-learn's type for it, so code written for scikit-learn catches it
            f"{name} needs numeric features, got strings in X; encode categorical columns first (e.g. "
            "sklearn.preprocessing.OneHotEncoder or OrdinalEncoder in a ColumnTransformer), or convert numbers "
            "stored as text with X.astype(float)."
        )


def _holds_strings(X):
    values = X.to_numpy(dtype=object) if hasattr(X, "to_numpy") else np.asarray(X, dtype=object)
    return any(isinstance(v, (str, bytes)) for v in values.ravel())


def check_lengths(X, y):
    try:
        n_X, n_y = _num_samples(X), _num_samples(y)
    except TypeError:
        return  # not array-like: validate_data says so
    if n_X != n_y:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: X has {n_X} rows but y has {n_y}; pass "
            "one target per row of X (were X and y filtered or split separately?)."
        )


def check_sample_weight(sample_weight, X, dtype):
    """``sample_weight`` as a ``(n_samples,)`` array of ``dtype``: finite, non-negative (a negative weight would
    reward errors, making the objective unbounded below) and not all zero."""
    n = X.shape[0]
    sample_weight = np.asarray(sample_weight)
    if sample_weight.ndim != 0 and sample_weight.shape != (n,):
        raise ValueError(
            f"sample_weight has shape {sample_weight.shape} but X has {n} samples; pass one weight per "
            f"sample, an array of shape ({n},)."
        )
    if sample_weight.ndim != 0 and n and not np.any(sample_weight):
        raise ValueError(
            "sample_weight is zero for every sample, so there is nothing to fit; give the samples to learn "
            "from a positive weight (or drop sample_weight)."
        )
    return _check_sample_weight(sample_weight, X, dtype=dtype, ensure_non_negative=True)
