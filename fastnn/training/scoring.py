"""Early stopping's validation set and score (``early_stopping=True``, the ``scoring`` parameter, ``fit``'s
``X_val``/``y_val``/``sample_weight_val``).

The validation set is the user's ``(X_val, y_val, sample_weight_val)`` when given to ``fit``, otherwise the
``validation_fraction`` split of the training data. Each epoch it is scored on the scorer's scale (higher is
better), which is what ``validation_scores_`` and ``best_validation_score_`` record:

- ``scoring=None``: accuracy (subset accuracy for multi-label) or R^2, computed from the network's logits, as
  scikit-learn's MLPs do;
- ``scoring='loss'``: minus the validation loss (its data term, scaled as ``loss_curve_``);
- any scorer name or callable ``scorer(estimator, X, y[, sample_weight=...])``: called on the estimator itself,
  whose ``coefs_`` are views into the network being trained, so it predicts as the model stands; nothing is
  copied.
"""
import contextlib

import numpy as np

from .checks import check_lengths, check_sample_weight


def check_validation_args(est, X_val, y_val, sample_weight_val):
    """The ``(X_val, y_val, sample_weight_val)`` of ``fit``, or None when not given; ValueError when they cannot
    be used (checked before anything is fitted)."""
    if X_val is None and y_val is None:
        if sample_weight_val is not None:
            raise ValueError("sample_weight_val is given without X_val and y_val; pass the validation set with it.")
        return None
    if y_val is None:
        raise ValueError("X_val is given but y_val is not: pass the validation targets as fit(..., X_val=X_val, y_val=y_val).")
    if X_val is None:
        raise ValueError("y_val is given but X_val is not: pass the validation features as fit(..., X_val=X_val, y_val=y_val).")
    if not est.early_stopping:
        raise ValueError(
            "X_val and y_val are used for early stopping only, but early_stopping=False: set early_stopping=True "
            "(the validation set then replaces validation_fraction) or drop X_val and y_val."
        )
    if est.solver == "lbfgs":
        raise ValueError(
            "solver='lbfgs' does no early stopping, so X_val and y_val would be ignored: use a mini-batch solver "
            "(e.g. solver='adam') with early_stopping=True, or drop X_val and y_val."
        )
    return X_val, y_val, sample_weight_val


class ValidationSet:
    """Rows ``X`` (as the network takes them), encoded targets ``Y``, weights ``sample_weight`` (or None) and the
    targets as ``predict`` returns them (``labels``, only for a scorer; decoded from ``Y`` when not given)."""

    def __init__(self, est, X, Y, sample_weight, labels=None):
        self.X, self.Y, self.sample_weight, self._labels = X, Y, sample_weight, labels
        self.scorer = _scorer(est)

    @classmethod
    def from_user(cls, est, X_val, y_val, sample_weight_val):
        """The validation set given to ``fit``, checked against the fitted ``n_features_in_``/classes."""
        try:
            check_lengths(X_val, y_val)
            X = est._check_input(X_val)
        except ValueError as exc:
            raise ValueError(f"X_val cannot serve as the validation set: {exc}") from None
        Y = est._encode_targets(y_val)
        sw = None if sample_weight_val is None else check_sample_weight(sample_weight_val, X, est._np_dtype)
        return cls(est, X, Y, sw, labels=y_val)

    def score(self, est, net):
        """``(score, loss)`` of the network as it stands: the scorer's value (higher is better) and the data term
        of the validation loss scaled as ``loss_curve_``; NaN both when the logits are not finite."""
        logits = net.logits(self.X)
        with np.errstate(all="ignore"):
            if not np.isfinite(logits).all():
                return np.nan, np.nan
            loss = float(net.loss.forward(logits, self.Y, self.sample_weight)) * est._reported_loss_scale()
            if self.scorer is None:
                return est._validation_score(logits, self.Y, self.sample_weight), loss
        if self.scorer == "loss":
            return -loss, loss
        if self._labels is None:
            self._labels = est._decode_targets(self.Y)
        kwargs = {} if self.sample_weight is None else {"sample_weight": self.sample_weight}
        with _without_feature_names(est):
            return float(self.scorer(est, self.X, self._labels, **kwargs)), loss


def _scorer(est):
    scoring = est.scoring
    if scoring is None or scoring == "loss":
        return scoring
    from sklearn.metrics import check_scoring

    return check_scoring(est, scoring)


@contextlib.contextmanager
def _without_feature_names(est):
    """The validation rows are already validated arrays in the fitted column order; hide ``feature_names_in_`` so
    that predicting on them does not warn about missing feature names."""
    names = est.__dict__.pop("feature_names_in_", None)
    try:
        yield
    finally:
        if names is not None:
            est.feature_names_in_ = names
