"""``ModelSummary``: ``summary()`` on a fitted estimator, the layer table of its network
(``fastnn.network.summary``) titled with what the estimator learned and marking the layer ``transform`` returns."""
from sklearn.utils.validation import check_is_fitted

from ..network.summary import summarize


class ModelSummary:
    """Estimator mixin: ``summary()``."""

    def summary(self):
        """The fitted network as a table: each layer's per-sample output shape, parameter count and dtype, the
        total (``coefs_`` and ``intercepts_`` together), and whether the fused dense path applies. Prints as text,
        renders as HTML in notebooks."""
        check_is_fitted(self, "coefs_")
        net = self.network_
        marks = {}
        try:
            marks[self._feature_layer(net)] = "transform"
        except (AttributeError, ValueError):
            pass  # no transform, or a transform_layer that transform itself reports
        title = (
            f"{type(self).__name__}: input {tuple(net.input_shape)}, {self.n_outputs_} output(s) "
            f"({self.out_activation_}), loss {type(net.loss).__name__}, solver {self.solver!r}"
        )
        return summarize(net, title, marks)
