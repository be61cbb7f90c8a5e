"""Prediction input: ``X`` checked as ``validate_data`` would, with a fast path for the common clean case.

A clean input - a 2-D float ndarray with ``n_features_in_`` columns, for a model fitted without feature names,
finite once in the model's dtype - is only converted to the model's C-contiguous dtype, which is all
``validate_data`` would do; anything else goes through ``validate_data`` and its errors. One-row predictions are
then dominated by the network, not by the checks.
"""
import numpy as np
from sklearn.utils.validation import validate_data

from ..layers import all_finite, kernel_array
from ..training.checks import check_features


def check_prediction_input(est, X):
    """``X`` (rows) validated for prediction by the fitted estimator ``est``, in its dtype, C-contiguous."""
    if (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype.kind == "f"
        and X.shape[0] > 0
        and X.shape[1] == getattr(est, "n_features_in_", -1)
        and not hasattr(est, "feature_names_in_")
    ):
        converted = kernel_array(X, est._np_dtype)
        if all_finite(converted):
            return converted
    check_features(X, est)
    return validate_data(est, X, accept_sparse=["csr", "csc"], dtype=est._np_dtype, order="C", reset=False)
