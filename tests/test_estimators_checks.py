"""scikit-learn's estimator checks over MLPClassifier / MLPRegressor in several solver settings."""
import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastnn import MLPClassifier, MLPRegressor

_FAST = dict(hidden_layer_sizes=(32,), max_iter=100, random_state=0)

ESTIMATORS = [
    MLPClassifier(**_FAST),
    MLPClassifier(solver="lbfgs", **_FAST),
    MLPClassifier(solver="sgd", learning_rate_init=0.01, **_FAST),
    MLPRegressor(**_FAST),
    MLPRegressor(solver="lbfgs", **_FAST),
    MLPRegressor(solver="sgd", learning_rate_init=0.01, **_FAST),
    MLPClassifier(solver="lbfgs", dtype=np.float64, **_FAST),
    MLPRegressor(solver="lbfgs", dtype=np.float64, **_FAST),
    MLPRegressor(dtype=np.float64, **_FAST),
]


def _expected_failed_checks(est):
    failures = {}
    if np.dtype(est.dtype) == np.float32:
        for name in ("check_sample_weight_equivalence_on_dense_data", "check_sample_weight_equivalence_on_sparse_data"):
            failures[name] = (
                "float32 computation: weights and repeated rows agree only to float32 rounding (~1e-7, amplified by "
                "the optimizer), the check demands rtol=1e-7; the float64 settings below pass it"
            )
    if np.dtype(est.dtype) == np.float32 and isinstance(est, MLPRegressor):
        for name in ("check_methods_subset_invariance", "check_methods_sample_order_invariance"):
            failures[name] = (
                "float32 BLAS GEMM rounds differently for different batch shapes (1 ulp ~ 1.2e-7 relative), above "
                "the check's atol=1e-7 for outputs of order 1; the float64 regressor settings pass it"
            )
    return failures


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
