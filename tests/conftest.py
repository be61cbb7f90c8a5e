import os

import numpy as np
import pytest

# Background compiles of the fused kernels stay off in the suite (and its subprocesses): CI has 2 cores, and each
# test with its own empty cache would start one. tests/test_background_compile.py turns them on where it tests them.
os.environ.setdefault("FASTNN_BACKGROUND_COMPILE", "0")

DTYPES = [np.float32, np.float64]
# Tolerances per dtype for kernel-vs-NumPy comparisons.
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
