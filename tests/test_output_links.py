"""Output-link kernels (``kernels.output``) against NumPy references: float64 predictions from float32 or float64
logits, limit probabilities for infinite logits, and the first row holding a NaN reported."""
import numpy as np
import pytest
from scipy.special import expit
from scipy.special import softmax as scipy_softmax

from fastnn.kernels import output

REFERENCES = {
    "softmax": lambda z: scipy_softmax(z, axis=1),
    "logistic": expit,
    "exp": np.exp,
    "identity": lambda z: z,
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("link", list(REFERENCES))
def test_output_link_matches_numpy_in_float64(link, dtype, rng):
    z = (rng.standard_normal((7, 4)) * 5).astype(dtype)
    out = np.empty(z.shape, np.float64)
    assert output.LINKS[link](z, out) == -1
    np.testing.assert_allclose(out, REFERENCES[link](z.astype(np.float64)), rtol=1e-13, atol=1e-300)


def test_infinite_logits_give_limit_probabilities():
    z = np.array([[np.inf, 0.0, -np.inf], [-np.inf, -np.inf, 1.0]], np.float32)
    out = np.empty(z.shape)
    assert output.softmax(z, out) == -1
    np.testing.assert_array_equal(out, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert output.logistic(z, out) == -1
    np.testing.assert_array_equal(out[0], [1.0, 0.5, 0.0])


@pytest.mark.parametrize("link", list(REFERENCES))
def test_first_nan_row_is_reported_and_comes_out_nan(link):
    z = np.zeros((4, 3))
    z[2, 1] = z[3, 0] = np.nan
    out = np.empty(z.shape)
    assert output.LINKS[link](z, out) == 2
    assert np.isnan(out[2]).any() and np.isfinite(out[:2]).all()
