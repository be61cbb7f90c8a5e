"""Element-wise activations: ``Identity``, ``ReLU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``."""
import numpy as np

from ..kernels import activations as _act
from ..kernels import codes
from .base import Layer


class Activation(Layer):
    """Base of the element-wise activations ``y = f(x)``, over any per-sample shape (the kernels see flat views).

    ``code`` names the function in ``fastnn.kernels.activations`` and ``slope`` is its float parameter
    (``LeakyReLU``'s negative slope, 0 for the others), so the fused dense epoch can run any activation from these
    two numbers. The backward pass reads only the output: ``dx = f'(x) * dout`` with ``f'`` written in terms of
    ``y``. Activations have no parameters and ignore ``l2``.

    Attributes
    ----------
    code : int
        The activation's code in ``fastnn.kernels.activations`` (a class attribute).
    slope : float
        The kernel's float parameter (a class attribute, or ``LeakyReLU``'s ``negative_slope``).

    See Also
    --------
    ReLU, LeakyReLU, Sigmoid, Tanh, Identity : The activations.
    Layer : The layer contract.

    Examples
    --------
    >>> from fastnn.layers import Activation, LeakyReLU
    >>> layer = LeakyReLU(0.1)
    >>> isinstance(layer, Activation), layer.slope
    (True, 0.1)
    >>> layer.build((2,), np.float64)
    (2,)
    >>> layer.forward(np.array([[-1.0, 2.0]]))
    array([[-0.1,  2. ]])
    """

    code = codes.IDENTITY
    slope = 0.0
    #: Set by ``Sequential`` when the layer before owns its output and its backward does not read it
    #: (``Layer.output_reusable``) and a layer follows: then, within the network's passes, the activation writes
    #: its output over its input and its input gradient over the incoming gradient (no arrays of its own: a
    #: training step of a CNN keeps two activation-sized arrays fewer per conv layer). Never for a call of
    #: ``forward`` from outside a network.
    in_place = False

    def forward(self, x, training=False):
        return self._apply(self._input(x), training, False)

    def _forward(self, x, training):
        return self._apply(x, training, self.in_place)

    def _apply(self, x, training, in_place):
        out = x if in_place else self._out("out", x.shape[0], self.input_shape, training)
        _act.FORWARD[self.code](x.reshape(-1), self.slope, out.reshape(-1))
        if training:
            self._y = out
        return out

    def backward(self, dout, l2=0.0):
        y = self._cached("_y")
        dout = np.ascontiguousarray(dout, dtype=self.dtype)
        dx = dout if self.in_place else self._out("dx", y.shape[0], self.input_shape, True)
        _act.BACKWARD[self.code](y.reshape(-1), dout.reshape(-1), self.slope, dx.reshape(-1))
        return dx


class Identity(Activation):
    """``f(z) = z``.

    Shape: any per-sample shape; the output has the input's shape. No parameters.

    Examples
    --------
    >>> from fastnn.layers import Identity
    >>> layer = Identity(); _ = layer.build((3,), np.float64)
    >>> layer.forward(np.array([[-1.0, 0.0, 2.0]])).round(4)
    array([[-1.,  0.,  2.]])
    """

    code = codes.IDENTITY


class ReLU(Activation):
    """``f(z) = max(z, 0)``.

    Shape: any per-sample shape; the output has the input's shape. No parameters.

    Examples
    --------
    >>> from fastnn.layers import ReLU
    >>> layer = ReLU(); _ = layer.build((3,), np.float64)
    >>> layer.forward(np.array([[-1.0, 0.0, 2.0]])).round(4)
    array([[0., 0., 2.]])
    """

    code = codes.RELU


class LeakyReLU(Activation):
    """``f(z) = z`` for z > 0, ``negative_slope * z`` otherwise (``negative_slope >= 0``).

    Parameters
    ----------
    negative_slope : float, default=0.01
        Slope for negative inputs, finite and ``>= 0``.

    Examples
    --------
    >>> from fastnn.layers import LeakyReLU
    >>> layer = LeakyReLU(0.1); _ = layer.build((3,), np.float64)
    >>> layer.forward(np.array([[-1.0, 0.0, 2.0]]))
    array([[-0.1,  0. ,  2. ]])
    """

    code = codes.LEAKY_RELU

    def __init__(self, negative_slope=0.01):
        super().__init__()
        if not np.isfinite(negative_slope) or negative_slope < 0:
            raise ValueError(f"LeakyReLU: negative_slope must be a finite number >= 0, got {negative_slope!r}.")
        self.slope = float(negative_slope)

    def __repr__(self):
        return f"LeakyReLU(negative_slope={self.slope})"


class Sigmoid(Activation):
    """``f(z) = 1 / (1 + exp(-z))``, overflow-free for any finite z.

    Shape: any per-sample shape; the output has the input's shape. No parameters.

    Examples
    --------
    >>> from fastnn.layers import Sigmoid
    >>> layer = Sigmoid(); _ = layer.build((3,), np.float64)
    >>> layer.forward(np.array([[-1.0, 0.0, 2.0]])).round(4)
    array([[0.2689, 0.5   , 0.8808]])
    """

    code = codes.LOGISTIC


class Tanh(Activation):
    """``f(z) = tanh(z)``.

    Shape: any per-sample shape; the output has the input's shape. No parameters.

    Examples
    --------
    >>> from fastnn.layers import Tanh
    >>> layer = Tanh(); _ = layer.build((3,), np.float64)
    >>> layer.forward(np.array([[-1.0, 0.0, 2.0]])).round(4)
    array([[-0.7616,  0.    ,  0.964 ]])
    """

    code = codes.TANH


ACTIVATIONS = {"identity": Identity, "relu": ReLU, "leaky_relu": LeakyReLU, "logistic": Sigmoid, "tanh": Tanh}
