"""``ShapedInput``: estimators whose samples have a shape (images ``(C, H, W)``, or any ``input_shape``), given as
flat rows or as an ``(N, *shape)`` array. Shared by ``CNNClassifier`` and ``NeuralNetClassifier``/``Regressor``.

Rows are the estimator's currency (validation, sparse input, splitting, shuffling); the network reshapes rows to
``(N, *input_shape_)`` as views. ``input_shape_`` is fixed by the first fit: the declared ``input_shape``, else the
shape of multi-dimensional ``X``, else ``_default_input_shape(n_features)``.
"""
import numpy as np


class ShapedInput:
    """Mixin implementing the estimator's ``_fit_rows``/``_prediction_rows``/``_input_shape`` hooks; subclasses set
    ``_declared_ndim`` (None: any number of sample dimensions) and ``_default_input_shape``."""

    #: Number of dimensions ``input_shape`` must have (None: any).
    _declared_ndim = None
    #: What error messages call one sample.
    _sample_word = "samples"

    def _default_input_shape(self, n_features):
        return (n_features,)

    def _as_rows(self, X):
        """``(X as rows, sample shape or None)``: ``(N, *shape)`` input (3 or more dimensions; exactly
        ``1 + _declared_ndim`` when that is set) is flattened to ``(N, prod(shape))``."""
        ndim = getattr(X, "ndim", None)
        wanted = None if self._declared_ndim is None else self._declared_ndim + 1
        if ndim is not None and ndim >= 3 and (wanted is None or ndim == wanted):
            return np.reshape(X, (X.shape[0], -1)), tuple(int(d) for d in X.shape[1:])
        return X, None

    def _fit_rows(self, X, first_pass):
        """``X`` as rows; a first fit fixes ``input_shape_`` (inside the fit's snapshot, so a failed fit restores
        it), a later one checks that images keep that shape."""
        X, image = self._as_rows(X)
        if first_pass:
            shape = X.shape if hasattr(X, "shape") else np.asarray(X).shape
            self.input_shape_ = self._resolve_shape(image, shape)
        elif image is not None and image != self.input_shape_:
            raise self._shape_mismatch(image)
        return X

    def _prediction_rows(self, X):
        X, image = self._as_rows(X)
        if image is not None and hasattr(self, "input_shape_") and image != self.input_shape_:
            raise self._shape_mismatch(image)
        return X

    def _shape_mismatch(self, image):
        return ValueError(f"X has {self._sample_word} of shape {image}; this model was fitted on {self.input_shape_}.")

    def _resolve_shape(self, image, shape):
        declared = self.input_shape
        if declared is not None:
            declared = tuple(int(d) for d in declared)
            ndim = self._declared_ndim
            if (ndim is not None and len(declared) != ndim) or not declared or min(declared) < 1:
                what = "(C, H, W)" if ndim == 3 else "a tuple"
                raise ValueError(f"input_shape must be {what} with positive sizes, got {self.input_shape!r}.")
            if image is not None and image != declared:
                raise ValueError(f"X has {self._sample_word} of shape {image}, but input_shape={declared}.")
            if image is None and len(shape) == 2 and int(np.prod(declared)) != shape[1]:
                raise ValueError(
                    f"X has {shape[1]} features per row, but input_shape={declared} needs "
                    f"{int(np.prod(declared))} (their product); pass matching rows or fix input_shape."
                )
            return declared
        if image is not None:
            return image
        return self._default_input_shape(int(shape[1]) if len(shape) == 2 else 0)

    def _input_shape(self, n_features):
        shape = getattr(self, "input_shape_", None)
        if shape is None or int(np.prod(shape)) != n_features:
            shape = self._resolve_shape(None, (0, n_features))
        return shape
