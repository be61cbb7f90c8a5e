"""``LayerFeatures``: the learned representation of a fitted network as a scikit-learn transformer.

``transform(X)`` returns the output of one layer of the network, by default the last hidden layer (the one the
output ``Dense`` reads), as float64 rows ``(n_samples, n_features_out)``; image-shaped outputs ``(C, H, W)`` are
flattened in C order. Which layer is the estimator parameter ``transform_layer``: None (the last hidden layer) or an
index into the network's layer list as ``summary()`` numbers it, negative indices counting from the end (-1 is the
output layer, whose outputs are the logits). The parameter does not change what ``fit`` learns, so it may be set on
a fitted model, searched over in a ``GridSearchCV``, and is kept by ``clone``.

Being a ``TransformerMixin``, the estimators also get ``fit_transform`` (fit on ``(X, y)``, then transform ``X``)
and ``set_output(transform='pandas')``; ``get_feature_names_out`` names the columns ``<estimator>_hidden<j>``
(``<estimator>_output<j>`` for the output layer). A fitted model feeds a second estimator without refitting through
``FrozenEstimator``: ``make_pipeline(FrozenEstimator(fitted), HistGradientBoostingClassifier())``.
"""
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import TransformerMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

#: Rows densified (and pushed through the network) at a time when X is sparse.
SPARSE_CHUNK = 2048


class LayerFeatures(TransformerMixin):
    """Estimator mixin: ``transform``, ``get_feature_names_out`` and ``set_output`` over one layer's outputs."""

    def _feature_layer(self, net):
        """The validated index (into ``net.layers``) of the layer ``transform`` returns."""
        layer = getattr(self, "transform_layer", None)
        n = len(net.layers)
        if layer is None:
            if n < 2:
                raise ValueError(
                    f"{type(self).__name__} has no hidden layer, so transform has no learned features to return; "
                    "add hidden layers, or set transform_layer=-1 for the output layer's logits."
                )
            return n - 2
        if not isinstance(layer, numbers.Integral) or isinstance(layer, bool):
            raise ValueError(
                f"transform_layer must be None (the last hidden layer) or an integer index into the layer list, got "
                f"{layer!r}."
            )
        if not -n <= layer < n:
            raise ValueError(
                f"transform_layer={layer} is out of range: the network has {n} layers (indices {-n}..{n - 1}, "
                "see summary()); None selects the last hidden layer."
            )
        return int(layer) % n

    def transform(self, X):
        """Outputs of layer ``transform_layer`` (default: the last hidden layer) for ``X`` (rows, or images as for
        ``predict``): float64 ``(n_samples, n_features_out)``, image outputs flattened in C order."""
        check_is_fitted(self, "coefs_")
        net = self.network_
        stop = self._feature_layer(net) + 1
        X = self._check_input(X)
        if sp.issparse(X):
            X = X.tocsr()
            parts = [self._layer_outputs(net, X[i : i + SPARSE_CHUNK].toarray(), stop)
                     for i in range(0, X.shape[0], SPARSE_CHUNK)]
            return np.concatenate(parts)
        return self._layer_outputs(net, X, stop)

    @staticmethod
    def _layer_outputs(net, rows, stop):
        """Inference through ``net.layers[:stop]`` (each layer allocates its output; nothing is cached)."""
        out = np.reshape(rows, (rows.shape[0], *net.input_shape))
        for layer in net.layers[:stop]:
            out = layer.forward(out, training=False)
        return np.asarray(out, dtype=np.float64).reshape(out.shape[0], -1)

    def get_feature_names_out(self, input_features=None):
        """``<estimator>_hidden0, ...`` (``_output0, ...`` for the output layer): one name per column of
        ``transform``. ``input_features`` is only checked against ``feature_names_in_``."""
        check_is_fitted(self, "coefs_")
        _check_feature_names_in(self, input_features, generate_names=False)
        net = self.network_
        index = self._feature_layer(net)
        kind = "output" if index == len(net.layers) - 1 else "hidden"
        n_out = int(np.prod(net.layers[index].output_shape))
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}_{kind}{j}" for j in range(n_out)], dtype=object)
