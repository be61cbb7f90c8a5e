"""MLP benchmarks (targets T1-T3, T5 of the speed issue), fastnn against scikit-learn.

One epoch is ``partial_fit(X, y)`` on an estimator that ``setup`` has already fitted once (see
``common.prepare_epoch``): exactly one shuffled minibatch pass over all rows, for both libraries, with weight
initialisation and Numba compilation outside the timed call.
"""
import numpy as np

from .common import (
    IMPLS,
    T2_ASV,
    digits,
    error_rate,
    fit_one_epoch,
    make_estimator,
    prepare_epoch,
    one_epoch,
    quiet,
    synthetic,
    traced_peak,
    warm_up,
)


class DigitsEpoch:
    """T1: one epoch on digits (1797 x 64), adam; batch size and hidden width as parameters."""

    params = (IMPLS, [32, 256], [100, 300])
    param_names = ["impl", "batch_size", "hidden"]
    timeout = 300

    def setup(self, impl, batch_size, hidden):
        self.X, self.y = digits()
        self.est = prepare_epoch(impl, self.X, self.y, batch_size=batch_size, hidden_layer_sizes=(hidden,))

    def time_epoch(self, impl, batch_size, hidden):
        one_epoch(self.est, self.X, self.y)


class SyntheticEpoch:
    """T2 at a reduced size: one epoch on ``T2_ASV x 784`` float32 synthetic data, 10 classes, hidden 100."""

    params = (IMPLS, [200])
    param_names = ["impl", "batch_size"]
    timeout = 300
    n_samples = T2_ASV

    def setup(self, impl, batch_size):
        self.X, self.y = synthetic(self.n_samples)
        self.est = prepare_epoch(impl, self.X, self.y, batch_size=batch_size)

    def time_epoch(self, impl, batch_size):
        one_epoch(self.est, self.X, self.y)

    def track_train_error(self, impl, batch_size):
        """1 - training accuracy after two epochs (setup's and one more)."""
        one_epoch(self.est, self.X, self.y)
        return error_rate(self.est, self.X, self.y)

    track_train_error.unit = "error rate"


class PredictOneRow:
    """T3: ``predict_proba`` of a single row with a digits model (per-call overhead)."""

    params = IMPLS
    param_names = ["impl"]
    timeout = 300

    def setup(self, impl):
        X, y = digits()
        self.est = prepare_epoch(impl, X, y)
        self.row = np.array(X[:1])

    def time_predict_proba_one_row(self, impl):
        self.est.predict_proba(self.row)

    def time_predict_digits(self, impl):
        self.est.predict(digits()[0])


class DigitsAccuracy:
    """Held-out error rate of a 20-epoch digits fit (a regression guard on what the speed buys)."""

    params = IMPLS
    param_names = ["impl"]
    timeout = 300
    max_iter = 20

    def setup(self, impl):
        warm_up(impl)

    def track_test_error(self, impl):
        quiet()
        X, y = digits()
        est = make_estimator(impl, max_iter=self.max_iter).fit(X[:1400], y[:1400])
        return error_rate(est, X[1400:], y[1400:])

    track_test_error.unit = "error rate"


class FitMemory:
    """T5 at a reduced size: tracemalloc peak of a one-epoch fit (``T2_ASV`` rows, batch 200)."""

    params = IMPLS
    param_names = ["impl"]
    timeout = 300
    n_samples = T2_ASV

    def setup(self, impl):
        warm_up(impl, batch_size=200)
        self.X, self.y = synthetic(self.n_samples)

    def track_fit_peak_bytes(self, impl):
        return traced_peak(fit_one_epoch, impl, self.X, self.y, batch_size=200)

    track_fit_peak_bytes.unit = "bytes"
