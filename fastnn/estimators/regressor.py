"""``RegressorBase``: what every fastnn regressor adds to ``BaseNeuralNetwork`` (``MLPRegressor``,
``NeuralNetRegressor``): the ``loss`` parameter and its output link, targets as ``(n_samples, n_outputs)``, the
predictions."""
import numbers

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, validate_data

from ..losses import LOSSES, HuberLoss
from ..training.checks import check_sample_weight
from .base import BaseNeuralNetwork, stochastic_only


class RegressorBase(RegressorMixin, BaseNeuralNetwork):
    """Regression on top of ``BaseNeuralNetwork``: ``loss='squared_error'``, ``'absolute_error'`` or ``'huber'``
    (threshold ``huber_delta``), all with identity output, or ``'poisson'`` (log link, ``out_activation_ = 'exp'``);
    single or multiple outputs."""

    _target_constraints = {
        "loss": [StrOptions({"squared_error", "poisson", "absolute_error", "huber"})],
        "huber_delta": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def _make_loss(self):
        if self.loss == "huber":
            return HuberLoss(float(self.huber_delta))
        return LOSSES[self.loss]()

    def _validate_fit_data(self, X, y, sample_weight, incremental, first_pass, classes):
        dtype = self._np_dtype
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True, dtype=dtype, order="C",
            reset=first_pass,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("loss='poisson' requires non-negative targets y (counts or rates); got negative values.")
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X, dtype)
        Y = np.ascontiguousarray(y.reshape(y.shape[0], -1), dtype=dtype)
        if not first_pass and Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, the model was fitted with {self.n_outputs_}.")
        return X, Y, sample_weight, None

    def _encode_targets(self, y):
        """Validation targets ``y_val`` as ``(n_val, n_outputs)`` in the model's dtype."""
        y = check_array(y, ensure_2d=False, dtype=self._np_dtype, input_name="y_val")
        Y = np.ascontiguousarray(y.reshape(y.shape[0], -1))
        if Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y_val has {Y.shape[1]} outputs, y has {self.n_outputs_}.")
        if self.loss == "poisson" and np.any(Y < 0):
            raise ValueError("loss='poisson' requires non-negative targets; y_val has negative values.")
        return Y

    def _decode_targets(self, Y):
        return Y.ravel() if Y.shape[1] == 1 else Y

    def _output_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _reported_loss_scale(self):
        return 1.0 / self.n_outputs_ if self.loss == "squared_error" else 1.0

    def _validation_score(self, logits, Y, sample_weight):
        from sklearn.metrics import r2_score  # imported here: only early stopping needs it, and the import is slow

        return float(r2_score(Y, self.network_.loss.output(logits), sample_weight=sample_weight))

    def predict(self, X):
        """Predictions ``(n_samples,)`` or ``(n_samples, n_outputs)``, float64."""
        self._check_fitted()
        net = self.network_
        pred = net.loss.output(net.logits(self._check_input(X)))
        return pred.ravel() if pred.shape[1] == 1 else pred

    @available_if(stochastic_only)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, keeping the optimizer state."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        if self.loss == "poisson":
            tags.target_tags.positive_only = True
        return tags
