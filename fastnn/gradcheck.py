"""Numerical gradient checking with central differences (use float64).

``numerical_gradient(f, x, eps)`` perturbs ``x`` in place one entry at a time and restores it:
``df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``. ``check_layer`` compares a layer's backward pass with
it for the scalar ``sum(forward(x) * dout)`` and reports the relative error
``max |a - n| / max(|a| + |n|, 1e-8)`` for the input and for every parameter array.
"""
import numpy as np


def numerical_gradient(f, x, eps=1e-6):
    """Central-difference gradient of the scalar function ``f()`` with respect to the array ``x``.

    Entry by entry, ``grad_i = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``: ``x`` is perturbed in place and
    restored, so ``f`` reads ``x`` (or a layer parameter that is ``x``) itself and takes no argument. The error is
    ``O(eps^2)`` plus rounding ``O(ulp(f) / eps)``: use float64 arrays.

    Parameters
    ----------
    f : callable
        ``f() -> float``, evaluated ``2 * x.size`` times.
    x : ndarray
        The array to differentiate with respect to; C-contiguous, so that ``x.reshape(-1)`` is a view. Left as it
        was on return.
    eps : float, default=1e-6
        Half the width of each central difference.

    Returns
    -------
    grad : ndarray of shape x.shape, float64
        The numerical gradient ``df/dx``.

    Raises
    ------
    ValueError
        If ``x`` is not C-contiguous.

    See Also
    --------
    check_layer : Compares a layer's backward pass with this gradient.

    Examples
    --------
    >>> from fastnn.gradcheck import numerical_gradient
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> numerical_gradient(lambda: float(np.sum(x ** 2)), x).round(6)
    array([2., 4., 6.])
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat_x, x):
        raise ValueError("numerical_gradient needs an array whose reshape(-1) is a view (C-contiguous).")
    for i in range(flat_x.size):
        old = flat_x[i]
        flat_x[i] = old + eps
        plus = f()
        flat_x[i] = old - eps
        minus = f()
        flat_x[i] = old
        flat_g[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(analytic, numeric):
    """Largest element-wise relative error ``|a - n| / max(|a| + |n|, 1e-8)`` between two gradients.

    Parameters
    ----------
    analytic : array-like
        The gradient a layer or loss computed.
    numeric : array-like of the same shape
        The finite-difference gradient (``numerical_gradient``).

    Returns
    -------
    error : float
        0.0 for empty arrays.

    Examples
    --------
    >>> from fastnn.gradcheck import relative_error
    >>> round(relative_error([1.0, 2.0], [1.0, 2.002]), 6)
    0.0005
    """
    a, n = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-8)))


def check_layer(layer, input_shape, batch_size=3, eps=1e-6, seed=0, x=None):
    """Check a layer's ``backward`` against central differences of its ``forward``.

    The layer is built in float64 unless it is built already; ``x`` (default: standard normal) and a random
    ``dout`` of the output's shape define the scalar ``s = sum(forward(x, training=True) * dout)``, whose gradients
    are ``backward(dout)`` (for ``x``) and ``layer.grads`` (for each parameter). Each is compared with
    ``numerical_gradient`` of ``s`` by ``relative_error``. Also checks that ``backward`` leaves ``dout`` unchanged.

    Parameters
    ----------
    layer : fastnn.layers.Layer
        The layer to check; built here (float64) when ``layer.dtype`` is None.
    input_shape : tuple of int
        Shape of one sample (the batch axis excluded), e.g. ``(n_in,)`` or ``(C, H, W)``.
    batch_size : int, default=3
        Number of samples of the random input (ignored when ``x`` is given).
    eps : float, default=1e-6
        Step of the central differences.
    seed : int, default=0
        Seed of the random input, of ``dout`` and of the build.
    x : array-like or None, default=None
        Input to check at, of shape ``(N, *input_shape)``, converted to float64; None draws one.

    Returns
    -------
    errors : dict of str to float
        ``"x"`` (the input gradient, when ``backward`` returns one) and ``"param0"``, ``"param1"``, ... (in the
        order of ``layer.params``) mapped to their relative errors; below about 1e-6 for a correct float64 layer.

    Raises
    ------
    AssertionError
        If ``backward`` wrote into ``dout``.

    See Also
    --------
    numerical_gradient : The central differences.
    relative_error : The error measure.

    Examples
    --------
    >>> from fastnn.gradcheck import check_layer
    >>> from fastnn.layers import Dense
    >>> errors = check_layer(Dense(3), (4,))
    >>> sorted(errors)
    ['param0', 'param1', 'x']
    >>> max(errors.values()) < 1e-6
    True
    """
    rng = np.random.default_rng(seed)
    if layer.dtype is None:
        layer.build(input_shape, np.float64, rng)
    if x is None:
        x = rng.standard_normal((batch_size, *input_shape))
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = layer.forward(x, training=True)
    dout = rng.standard_normal(out.shape)
    dout_before = dout.copy()
    analytic_dx = layer.backward(dout)
    if not np.array_equal(dout, dout_before):
        raise AssertionError(f"{layer!r}.backward wrote into dout.")
    analytic = {"x": None if analytic_dx is None else np.array(analytic_dx)}
    analytic.update({f"param{i}": g.copy() for i, g in enumerate(layer.grads)})

    def objective():
        return float(np.sum(layer.forward(x, training=True) * dout))

    errors = {}
    if analytic["x"] is not None:
        errors["x"] = relative_error(analytic["x"], numerical_gradient(objective, x, eps))
    for i, p in enumerate(layer.params):
        errors[f"param{i}"] = relative_error(analytic[f"param{i}"], numerical_gradient(objective, p, eps))
    return errors
