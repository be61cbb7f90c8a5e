"""Numerical gradient checking with central differences (use float64).

``numerical_gradient(f, x, eps)`` perturbs ``x`` in place one entry at a time and restores it:
``df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``. ``check_layer`` compares a layer's backward pass with
it for the scalar ``sum(forward(x) * dout)`` and reports the relative error
``max |a - n| / max(|a| + |n|, 1e-8)`` for the input and for every parameter array.
"""
import numpy as np


def numerical_gradient(f, x, eps=1e-6):
    """Central-difference gradient of the scalar function ``f()`` with respect to the array ``x``."""
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
    """Build ``layer`` in float64 (if not built) and return ``{"x": err, "param0": err, ...}``."""
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
