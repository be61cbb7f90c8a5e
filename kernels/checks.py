"""Input checks as kernels (one pass, no temporary arrays)."""
from ._jit import jit


@jit
def all_finite(x):
    """Whether every entry of the 1-D ``x`` is finite: ``x - x`` is 0 for finite values and NaN for inf or NaN,
    so one branch-free (vectorisable) pass adds them up and tests the total."""
    acc = x.dtype.type(0)
    for i in range(x.shape[0]):
        acc += x[i] - x[i]
    return acc == 0
