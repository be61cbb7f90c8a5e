"""scikit-learn's estimator checks over MLPClassifier / MLPRegressor in several solver settings, and over
NeuralNetClassifier / NeuralNetRegressor with plain, BatchNorm and robust-loss stacks."""
import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastnn import MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor
from fastnn.layers import BatchNorm, Dense, ReLU, Tanh

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
    NeuralNetClassifier([Dense(32), ReLU()], max_iter=100, random_state=0),
    NeuralNetClassifier([Dense(32), BatchNorm(), Tanh()], solver="lbfgs", dtype=np.float64, max_iter=100,
                        random_state=0),
    NeuralNetRegressor([Dense(32), BatchNorm(), Tanh()], loss="huber", dtype=np.float64, max_iter=100,
                       random_state=0),
    NeuralNetRegressor([Dense(32), ReLU()], loss="absolute_error", solver="sgd", learning_rate_init=0.01,
                       max_iter=100, random_state=0),
]


def _expected_failed_checks(est):
    failures = {}
    if np.dtype(est.dtype) == np.float32:
        for name in ("check_sample_weight_equivalence_on_dense_data", "check_sample_weight_equivalence_on_sparse_data"):
            failures[name] = (
                "float32 computation: weights and repeated rows agree only to float32 rounding (~1e-7, amplified by "
                "the optimizer), the check demands rtol=1e-7; the float64 settings below pass it"
            )
    if any(isinstance(layer, BatchNorm) for layer in getattr(est, "layers", None) or []):
        for name in ("check_sample_weight_equivalence_on_dense_data", "check_sample_weight_equivalence_on_sparse_data"):
            failures[name] = (
                "BatchNorm's batch statistics count rows, not sample weights (as in PyTorch and Keras): a row repeated "
                "twice moves the batch mean and variance, a weight of 2 does not, so the two fits differ by design"
            )
    if np.dtype(est.dtype) == np.float32:
        for name in ("check_methods_subset_invariance", "check_methods_sample_order_invariance"):
            failures[name] = (
                "float32 BLAS GEMM rounds differently for different batch shapes (1 ulp ~ 1.2e-7 relative), above "
                "the check's atol=1e-7 for outputs of order 1: a regressor's predict, every estimator's transform "
                "(hidden activations); the float64 settings pass it, and test_features.py checks the float32 "
                "classifiers' predict_proba"
            )
    return failures


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
