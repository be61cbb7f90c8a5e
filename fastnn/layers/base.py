"""The ``Layer`` base class and the input helpers every layer shares."""
import numpy as np

from ..kernels import checks as _checks


def kernel_array(x, dtype):
    """``x`` as a C-contiguous, writable, aligned array of ``dtype``: what every kernel is compiled for. Numba
    types read-only (e.g. memmapped) and unaligned arrays separately, so those are copied instead of compiling
    every kernel once more for them."""
    x = np.ascontiguousarray(x, dtype=dtype)
    return x if x.flags.writeable and x.flags.aligned else x.copy()


def all_finite(x):
    """Whether every entry of the C-contiguous array ``x`` is finite (one kernel pass, no temporaries)."""
    flat = x.reshape(-1).view()
    flat.flags.writeable = False  # one compiled signature for writable and read-only arrays
    return bool(_checks.all_finite(flat))


class Layer:
    """Base class. Subclasses with parameters fill ``params``/``grads`` and ``penalized`` in ``build``; subclasses
    with non-trainable state (running statistics) fill ``state``, a list of arrays that training updates in place
    and that optimizers never see.

    ``backward(dout, l2=0.0) -> dx`` fills ``grads`` and returns the input gradient; ``l2`` is the coefficient of
    the L2 penalty ``0.5 * l2 * ||p||^2`` on each parameter ``p`` marked in ``penalized``, whose gradient gets
    ``l2 * p`` added (layers without penalised parameters ignore it)."""

    #: Whether backward must compute the input gradient; ``Sequential`` clears it for its first layer.
    input_grad = True

    def __init__(self):
        self.params, self.grads, self.penalized = [], [], []
        self.state = []
        self.dtype = None
        self.input_shape = self.output_shape = None
        self._buffers = {}

    def build(self, input_shape, dtype=np.float64, rng=None):
        self.input_shape = tuple(int(d) for d in input_shape)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"{type(self).__name__}: dtype must be float32 or float64, got {self.dtype}.")
        self.output_shape = self._build(self.input_shape, rng if rng is not None else np.random.default_rng())
        return self.output_shape

    def _build(self, input_shape, rng):
        return input_shape

    def bind(self, params, grads):
        """Point ``params``/``grads`` at other arrays (views into a network's flat vectors), keeping values."""
        for new, old in zip(params, self.params):
            new[...] = old
        self.params, self.grads = list(params), list(grads)
        self._bound()

    def bind_state(self, arrays):
        """Point ``state`` at other arrays (views into a network's flat state vector), keeping values."""
        for new, old in zip(arrays, self.state):
            new[...] = old
        self.state = list(arrays)
        self._bound()

    def _bound(self):
        """Re-read named attributes (``W``, ``b``, ...) after ``params``/``grads``/``state`` were rebound."""

    def forward(self, x, training=False):
        """``y = f(x)`` for a batch ``x (N, *input_shape)`` of any layout and dtype."""
        return self._forward(self._input(x), training)

    def _forward(self, x, training):
        """``forward`` for an ``x`` already C-contiguous, writeable, of the layer's dtype and input shape (what
        the previous layer of a network hands over, so ``Sequential`` skips the checks after its first layer)."""
        raise NotImplementedError

    def _input(self, x):
        """``x`` as a C-contiguous array of the layer's dtype with the built feature shape."""
        if self.dtype is None:
            raise RuntimeError(f"{type(self).__name__} is not built: call build(input_shape, dtype, rng) first.")
        x = kernel_array(x, self.dtype)
        if x.shape[1:] != self.input_shape:
            raise ValueError(
                f"{type(self).__name__} expects input of shape (N, {', '.join(map(str, self.input_shape))}), "
                f"got {x.shape}."
            )
        return x

    def _out(self, name, n, shape, training):
        """A work array of shape ``(n, *shape)``: fresh for inference, a reused buffer while training."""
        if not training:
            return np.empty((n, *shape), self.dtype)
        buf = self._buffers.get(name)
        if buf is None or buf.shape[0] < n or buf.shape[1:] != tuple(shape):
            buf = np.empty((n, *shape), self.dtype)
            self._buffers[name] = buf
        return buf[:n]

    def _cached(self, name):
        value = getattr(self, name, None)
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward needs a forward(x, training=True) first.")
        return value

    def __repr__(self):
        return f"{type(self).__name__}()"


def pair(value, what, layer, minimum):
    """``value`` (an int or a pair of ints, each >= ``minimum``) as a tuple ``(h, w)``; ValueError otherwise."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum for v in pair
    ):
        raise ValueError(
            f"{layer}: {what} must be an integer >= {minimum} or a pair (h, w) of such integers, got {value!r}."
        )
    return int(pair[0]), int(pair[1])


def image_shape(layer, input_shape):
    if len(input_shape) != 3:
        raise ValueError(
            f"{layer} expects images of shape (C, H, W) per sample (input (N, C, H, W)), got {input_shape}."
        )
    return input_shape
