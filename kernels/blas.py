"""Matrix products for the kernels: ``gemm(a, b, out)`` is ``np.dot(a, b, out)`` and ``dot(x, y)`` is
``np.dot(x, y)`` for 1-D ``x``/``y``, bit for bit.

They call the BLAS Numba's ``np.dot`` calls (SciPy's, through Numba's C helpers ``numba_xxgemm``, ``numba_xxgemv``
and ``numba_xxdot``), with the same routine for the same shapes: ``gemm`` for matrices, ``gemv`` when ``a`` is one
row or ``b`` one column, ``dot`` when both are. Why not ``np.dot`` itself: Numba compiles its implementation as a
function of its own for each combination of operand layouts, 0.14-0.19 s each on a cold cache (three of them in a
default MLP fit); these emit the BLAS call into the calling kernel, which costs nothing measurable to compile.

``a`` and ``b`` are 2-D C- or F-contiguous (``x.T`` views included: BLAS takes the transpose flag), ``out`` is
C-contiguous, all of one float dtype; shapes are checked.
"""
import numpy as np
from numba import types
from numba.core import cgutils, errors
from numba.extending import intrinsic
from numba.np import linalg
from numba.np.arrayobj import make_array

from ._jit import jit

_INT_MAX = 2**31 - 1  # BLAS takes 32-bit sizes


def _check_types(*arrays, out=None):
    """Typing-time checks: one float dtype, 2-D C/F operands and a C-contiguous 2-D ``out``."""
    dtypes = {a.dtype for a in arrays + ((out,) if out is not None else ())}
    if len(dtypes) != 1 or dtypes.pop() not in (types.float32, types.float64):
        raise errors.TypingError(f"BLAS products need one float dtype, got {arrays}")
    for a in arrays:
        if a.ndim != 2 or a.layout not in "CF":
            raise errors.TypingError(f"BLAS products need 2-D C- or F-contiguous operands, got {a}")
    if out is not None and (out.ndim != 2 or out.layout != "C"):
        raise errors.TypingError(f"BLAS products write a C-contiguous 2-D array, got {out}")


def _blas_size_or_raise(context, builder, sizes, message):
    """Raise ValueError(message) unless every size fits BLAS's 32-bit integers."""
    limit = context.get_constant(types.intp, _INT_MAX)
    too_big = cgutils.false_bit
    for size in sizes:
        too_big = builder.or_(too_big, builder.icmp_signed(">", size, limit))
    with builder.if_then(too_big, likely=False):
        context.call_conv.return_user_exc(builder, ValueError, (message,))


@intrinsic
def gemm(typingctx, a, b, out):
    """``out = a @ b``, as ``np.dot(a, b, out)`` computes it: the same BLAS routine for the same shapes."""
    _check_types(a, b, out=out)

    def codegen(context, builder, sig, args):
        linalg.ensure_blas()
        aty, bty, oty = sig.args
        A, B, O = (make_array(ty)(context, builder, val) for ty, val in zip(sig.args, args))
        (m, k), (k2, n), (om, on) = (cgutils.unpack_tuple(builder, x.shape) for x in (A, B, O))
        mismatch = builder.or_(
            builder.icmp_signed("!=", k, k2),
            builder.or_(builder.icmp_signed("!=", m, om), builder.icmp_signed("!=", n, on)),
        )
        with builder.if_then(mismatch, likely=False):
            context.call_conv.return_user_exc(builder, ValueError, ("gemm: the shapes of a @ b and out differ",))
        _blas_size_or_raise(context, builder, (m, n, k), "gemm: a dimension is too large for BLAS")
        zero, one = context.get_constant(types.intp, 0), context.get_constant(types.intp, 1)
        is_empty = builder.or_(builder.icmp_signed("==", k, zero),
                               builder.or_(builder.icmp_signed("==", m, zero), builder.icmp_signed("==", n, zero)))
        one_row, one_col = builder.icmp_signed("==", m, one), builder.icmp_signed("==", n, one)
        with builder.if_else(is_empty, likely=False) as (empty, full):
            with empty:
                cgutils.memset(builder, O.data, builder.mul(O.itemsize, O.nitems), 0)
            with full:
                # One row or one column: gemv (or dot), as np.dot does. BLAS reads arrays in Fortran order, so an
                # operand whose layout differs from out's is passed transposed.
                with builder.if_else(one_col) as (col, matrix_b):
                    with col:
                        with builder.if_else(one_row) as (scalar, mat_vec):
                            with scalar:
                                linalg.call_xxdot(context, builder, False, aty.dtype, k, A.data, B.data, O.data)
                            with mat_vec:
                                linalg.call_xxgemv(context, builder, aty.layout == oty.layout, aty, (m, k), A.data,
                                                   B.data, O.data)
                    with matrix_b:
                        with builder.if_else(one_row) as (vec_mat, mat_mat):
                            with vec_mat:
                                linalg.call_xxgemv(context, builder, bty.layout != oty.layout, bty, (k, n), B.data,
                                                   A.data, O.data)
                            with mat_mat:
                                linalg.call_xxgemm(context, builder, aty, (m, k), A.data, bty, (k, n), B.data, oty,
                                                   (m, n), O.data)
        return context.get_dummy_value()

    return types.void(a, b, out), codegen


@intrinsic
def _xdot(typingctx, x, y, out):
    """``out[0, 0] = x . y`` over ``x.size`` elements of two contiguous arrays (BLAS dot)."""
    if x.layout not in "CF" or y.layout not in "CF" or len({x.dtype, y.dtype, out.dtype}) != 1:
        raise errors.TypingError(f"BLAS dot needs contiguous arrays of one dtype, got {x}, {y}, {out}")

    def codegen(context, builder, sig, args):
        linalg.ensure_blas()
        xa, ya, oa = (make_array(ty)(context, builder, val) for ty, val in zip(sig.args, args))
        linalg.call_xxdot(context, builder, False, sig.args[0].dtype, xa.nitems, xa.data, ya.data, oa.data)
        return context.get_dummy_value()

    return types.void(x, y, out), codegen


@jit(inline="always")
def dot(x, y):
    """``np.dot(x, y)`` of two 1-D contiguous arrays of one float dtype, through BLAS dot."""
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError("dot: the vectors differ in length")
    if n > _INT_MAX:
        raise ValueError("dot: the vectors are longer than BLAS's 32-bit sizes can index")
    out = np.zeros((1, 1), x.dtype)
    if n:
        _xdot(x, y, out)
    return out[0, 0]
