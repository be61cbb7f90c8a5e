import numpy as np
import pytest

DTYPES = [np.float32, np.float64]
# Tolerances per dtype for kernel-vs-NumPy comparisons.
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
