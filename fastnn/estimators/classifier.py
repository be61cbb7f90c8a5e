"""``ClassifierBase``: what every fastnn classifier adds to ``BaseNeuralNetwork`` (``MLPClassifier``,
``CNNClassifier``, ``NeuralNetClassifier``): labels encoded for the network's output loss, ``class_weight``, the
predictions, ``partial_fit(classes=)``."""
import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets, type_of_target
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import validate_data

from ..training.checks import check_sample_weight
from .base import BaseNeuralNetwork, stochastic_only


class ClassifierBase(ClassifierMixin, BaseNeuralNetwork):
    """Classification on top of ``BaseNeuralNetwork``: labels via ``LabelBinarizer`` (multiclass -> softmax over
    ``n_classes`` outputs; binary -> one logistic output; multi-label indicator -> one logistic output per
    label), ``class_weight``, ``predict``/``predict_proba``/``predict_log_proba``, ``partial_fit(classes=)``."""

    _target_constraints = {"class_weight": [dict, StrOptions({"balanced"}), None]}

    def _validate_fit_data(self, X, y, sample_weight, incremental, first_pass, classes):
        dtype = self._np_dtype
        if incremental and _check_partial_fit_first_call(self, classes):
            multilabel = type_of_target(y).startswith("multilabel")
            if not multilabel and len(self.classes_) < 2:
                raise ValueError(
                    f"partial_fit needs at least 2 classes in `classes`, got {list(classes)}; pass every label "
                    "the model should predict on the first call."
                )
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if multilabel else classes)
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True, dtype=dtype, order="C", reset=first_pass
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        # 1-D integer (or bool) labels are always a valid binary/multiclass target: skip the type_of_target pass
        integer_labels = y.ndim == 1 and y.dtype.kind in "iub"
        if not integer_labels:
            check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
            if self._label_binarizer.y_type_ != "multilabel-indicator" and len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes to learn from, but y holds only one "
                    f"class ({self.classes_.tolist()[0]!r}); check the labels, or use partial_fit(X, y, classes=[...]) "
                    "to declare all classes up front."
                )
        elif not self.warm_start and integer_labels and self._labels_within_classes(y):
            pass  # every label is a known class: the unseen-label search below would find none
        else:
            found = unique_labels(y)
            if self.warm_start:
                if set(found) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the previous call to "
                        f"fit. Previously got {self.classes_}, `y` has {found}"
                    )
            elif len(np.setdiff1d(found, self.classes_, assume_unique=True)):
                unseen = np.setdiff1d(found, self.classes_, assume_unique=True)
                raise ValueError(
                    f"`y` has classes not in `self.classes_`: {unseen.tolist()}. `self.classes_` has {self.classes_}. "
                    "partial_fit can only learn the classes declared in the first call's classes=...; refit "
                    "from scratch with all labels in classes=, or drop the samples with unknown labels."
                )
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X, dtype)
        if self.class_weight is not None:
            if incremental and self.class_weight == "balanced":
                raise ValueError(
                    "class_weight 'balanced' is not supported for partial_fit: the class frequencies of the whole "
                    "data set are unknown. Pass a dict of class weights instead."
                )
            cw = compute_sample_weight(self.class_weight, y).astype(dtype)
            sample_weight = cw if sample_weight is None else sample_weight * cw
        if self._label_binarizer.y_type_ == "multiclass":
            # Integer class codes for the fused softmax-CE: ``classes_`` is sorted and holds every label of y
            # (checked above), so searchsorted finds each label's index without building the one-hot matrix.
            Y = np.ascontiguousarray(np.searchsorted(self._label_binarizer.classes_, y), dtype=np.intp)
            stratify = Y
        else:
            Y = np.ascontiguousarray(self._label_binarizer.transform(y), dtype=dtype)
            stratify = Y[:, 0] if Y.shape[1] == 1 else None
        return X, Y, sample_weight, stratify

    def _labels_within_classes(self, y):
        """Whether every integer label in ``y`` is one of the (sorted, integer) ``classes_``, by binary search."""
        classes = self.classes_
        if classes.dtype.kind not in "iub" or not len(classes) or self._label_binarizer.y_type_ not in (
            "binary", "multiclass"
        ):
            return False
        idx = np.searchsorted(classes, y)
        np.minimum(idx, len(classes) - 1, out=idx)
        return bool(np.array_equal(classes[idx], y))

    def _encode_targets(self, y):
        """Validation labels ``y_val`` encoded as ``_validate_fit_data`` encodes ``y`` (class codes for multiclass,
        indicator columns otherwise), without changing the fitted classes."""
        lb = self._label_binarizer
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1 and lb.y_type_ != "multilabel-indicator":
            y = y.ravel()
        if lb.y_type_ == "multilabel-indicator":
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError(f"y_val must be an indicator matrix with {len(self.classes_)} columns, as y; got shape {y.shape}.")
        else:
            unseen = np.setdiff1d(unique_labels(y), self.classes_)
            if len(unseen):
                raise ValueError(
                    f"y_val has labels not seen in y: {unseen.tolist()}; the model knows {self.classes_.tolist()}."
                )
            if lb.y_type_ == "multiclass":
                return np.ascontiguousarray(np.searchsorted(self.classes_, y), dtype=np.intp)
        return np.ascontiguousarray(lb.transform(y), dtype=self._np_dtype)

    def _decode_targets(self, Y):
        """Encoded targets back to labels, as ``predict`` returns them."""
        if Y.ndim == 1:
            return self.classes_[Y]
        return self._label_binarizer.inverse_transform(Y.ravel() if Y.shape[1] == 1 else Y)

    def _output_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _reported_loss_scale(self):
        """Factor applied to the data term of the reported loss (the regressor's squared error needs one)."""
        return 1.0

    def _n_logits(self):
        return len(self.classes_)

    def _validation_score(self, logits, Y, sample_weight):
        """Accuracy (subset accuracy for multi-label) of the logits against encoded targets."""
        if Y.ndim == 1:
            correct = np.argmax(logits, axis=1) == Y
        else:
            correct = np.all((logits > 0) == (Y > 0.5), axis=1)
        return float(np.average(correct, weights=sample_weight))

    def _proba(self, X):
        """float64 probabilities (softmax rows, or independent logistic outputs) through the loss's output link.
        An infinite logit (an input so large that the network overflows) keeps its limit probability; a NaN logit
        (inf - inf inside the network) has no limit and raises."""
        net = self.network_
        p, nan_row = net.loss.output_checked(net.logits(self._check_input(X)))
        if nan_row >= 0:
            n_nan = int(np.isnan(p).any(axis=1).sum())
            raise ValueError(
                f"{type(self).__name__}: the network output is NaN for {n_nan} sample(s) (first: row {nan_row}), "
                f"whose features are too large for dtype={np.dtype(self._np_dtype).name}; scale the inputs as "
                "during fit (e.g. StandardScaler) or use dtype='float64'."
            )
        return p

    def predict(self, X):
        """Predicted classes: ``(n_samples,)``, or the indicator matrix ``(n_samples, n_labels)`` for
        multi-label targets."""
        self._check_fitted()
        p = self._proba(X)
        if self.n_outputs_ == 1:
            p = p.ravel()
        return self._label_binarizer.inverse_transform(p)

    def predict_proba(self, X):
        """Class probabilities ``(n_samples, n_classes)`` in float64, ordered as ``classes_`` (binary: the
        columns ``[1 - p, p]``; multi-label: independent per-label probabilities, rows need not sum to 1)."""
        self._check_fitted()
        p = self._proba(X)
        if self.n_outputs_ == 1:
            p = p.ravel()
            return np.vstack([1 - p, p]).T
        return p

    def predict_log_proba(self, X):
        """``log(predict_proba(X))`` exactly (scikit-learn's contract), ``-inf`` where a probability underflows
        to 0, without a divide-by-zero warning."""
        p = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(p, out=p)

    @available_if(stochastic_only)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``, keeping the optimizer state; ``classes`` (all labels) is required on the
        first call and a batch may contain any subset of them."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, classes=classes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags
