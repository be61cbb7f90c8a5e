import numpy as np
import pytest

from fastnn import datasets


@pytest.mark.parametrize("suffix", [".idx", ".idx.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32])
def test_idx_round_trip(tmp_path, suffix, dtype):
    a = (np.arange(2 * 3 * 4) % 200).astype(dtype).reshape(2, 3, 4)
    path = tmp_path / f"a{suffix}"
    datasets.save_idx(path, a)
    b = datasets.load_idx(path)
    assert b.dtype == dtype and b.shape == a.shape
    np.testing.assert_array_equal(a, b)


def test_idx_reader_parses_the_mnist_header_by_hand(tmp_path):
    # MNIST labels file: magic 0x00000801, count 3, then bytes
    raw = bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])
    (tmp_path / "labels").write_bytes(raw)
    np.testing.assert_array_equal(datasets.load_idx(tmp_path / "labels"), [7, 2, 1])


def test_idx_reader_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="magic"):
        datasets.load_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]))
    with pytest.raises(ValueError, match="bytes"):
        datasets.load_idx(tmp_path / "short")


@pytest.mark.parametrize("maker", [datasets.make_xor, datasets.make_circles, datasets.make_spirals, datasets.make_gaussians])
def test_generators_are_seeded_and_balanced(maker):
    X1, y1 = maker(n_samples=101, random_state=3)
    X2, y2 = maker(n_samples=101, random_state=3)
    np.testing.assert_array_equal(X1, X2)
    assert X1.shape == (101, 2) and set(np.unique(y1)) == {0, 1}
    assert abs(np.mean(y1) - 0.5) < 0.15


def test_generator_labels_follow_their_rule():
    X, y = datasets.make_xor(500, random_state=0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] > 0))
    X, y = datasets.make_circles(500, factor=0.5, random_state=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r[y == 1].max() < 0.5 <= r[y == 0].min()
