"""The weight-initialisation rules, in one place: each is a pair of bounds ``(r_W, r_b)`` for ``W ~ U(-r_W, r_W)``
and ``b ~ U(-r_b, r_b)``, with ``r_b = 0`` meaning a zero bias that draws nothing.

- ``"glorot"``: ``r_W = r_b = sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio 2010; scikit-learn's MLP);
- ``"glorot_logistic"``: ``r_W = r_b = sqrt(2 / (fan_in + fan_out))`` (scikit-learn's choice for logistic units);
- ``"he"``: ``r_W = sqrt(6 / fan_in)``, zero bias (He et al. 2015, for ReLU stacks).

``Dense`` (``init=``, fans ``n_in``/``n_out``) and ``Conv2D`` (``"he"``, ``fan_in = C * kh * kw``) draw from these
bounds in ``build`` and report them through ``init_bounds()``, which the estimators use to draw the same rules from
their ``random_state`` (``fastnn.estimators.stack.init_from_random_state``).
"""
import numpy as np

INITS = ("glorot", "glorot_logistic", "he")


def uniform_bounds(init, fan_in, fan_out):
    """``(r_W, r_b)`` of the rule ``init`` (one of ``INITS``) for a layer with these fans."""
    if init == "he":
        return np.sqrt(6.0 / fan_in), 0.0
    factor = 2.0 if init == "glorot_logistic" else 6.0
    bound = np.sqrt(factor / (fan_in + fan_out))
    return bound, bound
