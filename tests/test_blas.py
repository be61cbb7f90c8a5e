"""kernels/blas.py: the kernels' matrix products, against NumPy in float64 and bit for bit against Numba's own
``np.dot`` (the arithmetic they replace: same BLAS routine for the same shapes)."""
import numba
import numpy as np
import pytest
from conftest import DTYPES

from fastnn.kernels.blas import dot, gemm


@numba.njit
def _gemm(a, b, out):
    gemm(a, b, out)


@numba.njit
def _numba_dot(a, b, out):
    np.dot(a, b, out)


@numba.njit
def _dot(x, y):
    return dot(x, y)


@numba.njit
def _numba_vdot(x, y):
    return np.dot(x, y)


# (m, k, n): matrices, one row (gemv), one column (gemv), both (dot), empty sides (zeros), the MLP's batch shapes
SHAPES = [(32, 64, 100), (1, 64, 100), (32, 64, 1), (1, 64, 1), (0, 3, 4), (3, 0, 4), (7, 5, 0), (200, 78, 10)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("a_fortran", [False, True])
@pytest.mark.parametrize("b_fortran", [False, True])
def test_gemm_matches_numpy_and_numbas_np_dot_bit_for_bit(dtype, m, k, n, a_fortran, b_fortran, rng):
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    a_in = np.asfortranarray(a) if a_fortran else a  # F layout: how x.T of a C array reaches the kernels
    b_in = np.asfortranarray(b) if b_fortran else b
    out = np.full((m, n), np.nan, dtype)
    reference = np.full((m, n), np.nan, dtype)
    _gemm(a_in, b_in, out)
    _numba_dot(a_in, b_in, reference)
    assert np.array_equal(out, reference)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, a.astype(np.float64) @ b.astype(np.float64), rtol=tol, atol=tol * max(k, 1))


def test_gemm_rejects_mismatched_shapes_instead_of_writing_past_out():
    a, b = np.ones((3, 4)), np.ones((4, 5))
    with pytest.raises(ValueError, match="shapes"):
        _gemm(a, b, np.empty((3, 4)))
    with pytest.raises(ValueError, match="shapes"):
        _gemm(a, np.ones((3, 5)), np.empty((3, 5)))


def test_gemm_refuses_mixed_dtypes_and_strided_operands_at_compile_time():
    with pytest.raises(numba.core.errors.TypingError, match="one float dtype"):
        _gemm(np.ones((2, 2)), np.ones((2, 2), np.float32), np.empty((2, 2)))
    with pytest.raises(numba.core.errors.TypingError, match="contiguous"):
        _gemm(np.ones((4, 2))[::2], np.ones((2, 2)), np.empty((2, 2)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_dot_matches_numpy_and_numbas_np_dot_bit_for_bit(dtype, n, rng):
    x = rng.standard_normal(n).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    assert _dot(x, y) == _numba_vdot(x, y)
    assert _dot(x, y) == pytest.approx(float(x.astype(np.float64) @ y), rel=1e-4, abs=1e-4)
    with pytest.raises(ValueError, match="length"):
        _dot(x, np.ones(n + 1, dtype))
