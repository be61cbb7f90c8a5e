"""The ``Layer`` base class and the input helpers every layer shares."""
import numpy as np

from ..kernels import checks as _checks
from . import workspace


def kernel_array(x, dtype):
    """``x`` as a C-contiguous, writable, aligned array of ``dtype``: what every kernel is compiled for.

    Numba compiles a kernel once per array type, and a read-only (e.g. memory-mapped) or unaligned array is a type
    of its own; such arrays are copied instead of compiling every kernel once more for them. An array that already
    qualifies is returned as it is, without a copy.

    Parameters
    ----------
    x : array-like
        Any array, list or scalar NumPy can convert.
    dtype : data-type
        The kernels' float type, ``np.float32`` or ``np.float64``.

    Returns
    -------
    array : ndarray of dtype ``dtype``
        ``x`` itself when it already is C-contiguous, writable, aligned and of ``dtype``; else a converted copy.

    See Also
    --------
    all_finite : The finiteness check over such arrays.

    Examples
    --------
    >>> from fastnn.layers import kernel_array
    >>> x = np.arange(6).reshape(2, 3).T  # integers, Fortran order
    >>> y = kernel_array(x, np.float32)
    >>> y.dtype, y.flags.c_contiguous, y.flags.writeable
    (dtype('float32'), True, True)
    >>> kernel_array(y, np.float32) is y
    True
    """
    x = np.ascontiguousarray(x, dtype=dtype)
    return x if x.flags.writeable and x.flags.aligned else x.copy()


def all_finite(x):
    """Whether every entry of the array ``x`` is finite: no NaN, no infinity.

    One compiled pass over the array (``fastnn.kernels.checks``), with no temporary arrays, where
    ``np.isfinite(x).all()`` allocates a boolean array of ``x``'s size; the estimators run it over inputs and
    parameters.

    Parameters
    ----------
    x : ndarray of float32 or float64
        Any shape; C-contiguous (as ``kernel_array`` returns), else it is copied first.

    Returns
    -------
    finite : bool
        True when every entry is finite (also for an empty array).

    See Also
    --------
    kernel_array : Makes an array the kernels take.

    Examples
    --------
    >>> from fastnn.layers import all_finite
    >>> all_finite(np.array([[1.0, -2.5], [0.0, 1e300]]))
    True
    >>> all_finite(np.array([1.0, np.nan]))
    False
    """
    flat = x.reshape(-1).view()
    flat.flags.writeable = False  # one compiled signature for writable and read-only arrays
    return bool(_checks.all_finite(flat))


class Layer:
    """Base class of every layer: a differentiable map from a batch ``(N, *input_shape)`` to ``(N, *output_shape)``.

    The contract (``docs/design.md``; ``Sequential`` and the estimators rely on it):

    - ``build(input_shape, dtype, rng) -> output_shape`` fixes the per-sample shapes (the batch axis excluded) and
      the dtype, and allocates the parameters, drawing initial values from the ``numpy.random.Generator`` ``rng``.
      Subclasses implement ``_build(input_shape, rng) -> output_shape``, where those with parameters fill
      ``params``, ``grads`` (zero arrays of the same shapes, same order) and ``penalized``, and those with
      non-trainable state (running statistics) fill ``state``.
    - ``forward(x, training=False) -> y`` converts ``x`` (``kernel_array``), checks its shape and calls
      ``_forward(x, training)``, which subclasses implement; with ``training=True`` it keeps on the layer what
      ``backward`` needs.
    - ``backward(dout, l2=0.0) -> dx`` fills ``grads`` with the gradients for the upstream gradient ``dout``
      (never writing into it) and returns the gradient with respect to the input. ``l2`` is the coefficient of
      the L2 penalty ``0.5 * l2 * ||p||^2`` on each parameter ``p`` marked in ``penalized``, whose gradient gets
      ``l2 * p`` added (layers without penalised parameters ignore it).
    - Optimizers update ``params`` in place, and ``Sequential`` rebinds ``params``/``grads`` (``bind``) and
      ``state`` (``bind_state``) to views of its flat vectors, keeping their values; a layer that names its arrays
      (``W``, ``b``) re-reads them in ``_bound()``.

    Attributes
    ----------
    params : list of ndarray
        Trainable arrays, empty before ``build`` and for layers without parameters.
    grads : list of ndarray
        Gradients of ``params``, same shapes and order, filled by ``backward``.
    penalized : list of bool
        Per entry of ``params``, whether the L2 penalty applies (weights yes, biases no).
    state : list of ndarray
        Non-trainable arrays that training updates and inference reads (``BatchNorm``'s running mean and
        variance); optimizers never see them.
    dtype : numpy.dtype or None
        float32 or float64 once built, None before.
    input_shape, output_shape : tuple of int or None
        Per-sample shapes once built.
    input_grad : bool
        Whether ``backward`` computes the input gradient; ``Sequential`` clears it for its first trainable layer.

    See Also
    --------
    Activation : Base of the element-wise activations.
    fastnn.gradcheck.check_layer : Checks a layer's ``backward`` against central differences.

    Examples
    --------
    A layer without parameters that doubles its input:

    >>> from fastnn.gradcheck import check_layer
    >>> from fastnn.layers import Layer
    >>> class Double(Layer):
    ...     def _forward(self, x, training):
    ...         return 2 * x
    ...     def backward(self, dout, l2=0.0):
    ...         return 2 * dout
    >>> layer = Double()
    >>> layer.build((3,), np.float64)
    (3,)
    >>> layer.forward(np.ones((2, 3)))
    array([[2., 2., 2.],
           [2., 2., 2.]])
    >>> check_layer(Double(), (3,))["x"] < 1e-8
    True
    """

    #: Whether backward must compute the input gradient; ``Sequential`` clears it for its first layer.
    input_grad = True
    #: Whether the output of a training or network pass is an array of this layer's own that its backward never
    #: reads, so that the next layer may overwrite it (``Activation.in_place``).
    output_reusable = False

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

    def splits(self, n):
        """Whether an inference pass over ``n`` samples splits them across threads (``layers.threads``): a network
        then keeps BLAS at one thread for its whole inference pass."""
        return False

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
            pool = workspace.outputs()  # inside a network's inference pass: this thread's reused arrays
            return np.empty((n, *shape), self.dtype) if pool is None else pool.take(name, (n, *shape), self.dtype)
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
