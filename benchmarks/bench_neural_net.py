"""NeuralNet* benchmarks: the robust regression losses on the fused and layered paths, and what BatchNorm costs.

One epoch is ``partial_fit(X, y)`` of an estimator already fitted once in ``setup`` (compilation outside the timed
call), as in ``bench_mlp``.
"""
import warnings

import numpy as np

from .common import digits

from fastnn import MLPRegressor, NeuralNetClassifier
from fastnn.layers import BatchNorm, Dense, ReLU


def _regression(n=5000, d=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (X[:, :3].sum(1) + 0.1 * rng.standard_normal(n)).astype(np.float32)
    return X, y


class RobustLossEpoch:
    """One epoch of ``MLPRegressor((100,), batch_size=32)`` on 5000 x 20 rows per loss, fused kernel vs layer by
    layer (the loss codes added to ``kernels.mlp`` for 'huber' and 'absolute_error')."""

    params = (["squared_error", "huber", "absolute_error"], [True, False])
    param_names = ["loss", "fused"]
    timeout = 300

    def setup(self, loss, fused):
        self.X, self.y = _regression()
        self.est = MLPRegressor(loss=loss, batch_size=32, fused=fused, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.est.partial_fit(self.X, self.y)

    def time_epoch(self, loss, fused):
        self.est.partial_fit(self.X, self.y)


class BatchNormEpoch:
    """One epoch on digits of ``[Dense(100), (BatchNorm()), ReLU()]`` through ``NeuralNetClassifier``, batch 32:
    the cost of a feature BatchNorm (and of leaving the fused path) next to the same stack without it."""

    params = (["dense-relu", "dense-bn-relu"],)
    param_names = ["stack"]
    timeout = 300

    def setup(self, stack):
        self.X, self.y = digits()
        layers = [Dense(100), ReLU()] if stack == "dense-relu" else [Dense(100), BatchNorm(), ReLU()]
        self.est = NeuralNetClassifier(layers, batch_size=32, random_state=0)
        self.est.partial_fit(self.X, self.y, classes=np.unique(self.y))

    def time_epoch(self, stack):
        self.est.partial_fit(self.X, self.y)
