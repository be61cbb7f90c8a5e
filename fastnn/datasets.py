"""Data: a reader for IDX files (the MNIST format) and small 2-D generators like TensorFlow Playground's.

Every generator returns ``X (n_samples, 2)`` float64 and integer labels ``y (n_samples,)`` and takes
``random_state`` (None, an int or a ``numpy.random.Generator``).
"""
import os

import numpy as np

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _opener(path):
    """``gzip.open`` for ``.gz`` files, else ``open`` (gzip is imported only when needed)."""
    if os.fspath(path).endswith(".gz"):
        import gzip

        return gzip.open
    return open


def load_idx(path):
    """Read an IDX file (optionally ``.gz``) into an array of its declared shape and type.

    IDX is the format of the MNIST and Fashion-MNIST files: two zero bytes, a type code (0x08 uint8, 0x09 int8,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, one big-endian uint32 per
    dimension, then the data, big-endian, in C order.

    Parameters
    ----------
    path : str or path-like
        The file; a name ending in ``.gz`` is read through gzip.

    Returns
    -------
    array : ndarray
        The data in native byte order, e.g. ``uint8`` of shape ``(60000, 28, 28)`` for MNIST's training images.

    Raises
    ------
    ValueError
        If the file does not start with an IDX header, or holds more or fewer bytes than its header declares.

    See Also
    --------
    save_idx : The inverse.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> from fastnn.datasets import load_idx, save_idx
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "images.idx.gz")
    ...     save_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
    ...     images = load_idx(path)
    >>> images
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    opener = _opener(path)
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number).")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"{path}: header promises {expected} bytes of data for shape {shape}, found {len(data) - header}.")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def save_idx(path, array):
    """Write ``array`` as an IDX file (``.gz`` compressed if the name ends so); the inverse of ``load_idx``.

    Parameters
    ----------
    path : str or path-like
        The file to write (replaced if it exists); a name ending in ``.gz`` is gzip-compressed.
    array : array-like
        Data of dtype uint8, int8, int16, int32, float32 or float64, of any shape (at most 255 dimensions).

    Raises
    ------
    TypeError
        If IDX has no type code for the array's dtype (e.g. int64: convert it first).

    See Also
    --------
    load_idx : The inverse.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> from fastnn.datasets import load_idx, save_idx
    >>> labels = np.array([3, 1, 4], dtype=np.uint8)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "labels.idx")
    ...     save_idx(path, labels)
    ...     size = os.path.getsize(path)
    ...     same = np.array_equal(load_idx(path), labels)
    >>> size, same
    (11, True)
    """
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"IDX cannot store dtype {array.dtype}.")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + array.astype(_IDX_TYPES[code]).tobytes()
    opener = _opener(path)
    with opener(path, "wb") as f:
        f.write(payload)


def _rng(random_state):
    return random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)


def make_xor(n_samples=200, noise=0.0, random_state=None):
    """Points uniform in [-1, 1]^2 (plus Gaussian noise), labelled 1 where ``x1 * x2 > 0`` (XNOR of the signs).

    Parameters
    ----------
    n_samples : int, default=200
        Number of points.
    noise : float, default=0.0
        Standard deviation of the Gaussian noise added to the points.
    random_state : int, Generator or None, default=None
        Seed of the random draws.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        The points.
    y : ndarray of shape (n_samples,)
        The integer labels.

    Examples
    --------
    >>> from fastnn.datasets import make_xor
    >>> X, y = make_xor(100, random_state=0)
    >>> X.shape, np.bincount(y)
    ((100, 2), array([56, 44]))
    """
    rng = _rng(random_state)
    X = rng.uniform(-1, 1, (n_samples, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return X + noise * rng.standard_normal(X.shape), y


def make_circles(n_samples=200, noise=0.0, factor=0.5, random_state=None):
    """An inner disc (label 1, radius < ``factor``) inside an outer ring (label 0, radius in [factor+0.1, 1]).

    Parameters
    ----------
    n_samples : int, default=200
        Number of points.
    noise : float, default=0.0
        Standard deviation of the Gaussian noise added to the points.
    factor : float, default=0.5
        Radius of the inner disc.
    random_state : int, Generator or None, default=None
        Seed of the random draws.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        The points.
    y : ndarray of shape (n_samples,)
        The integer labels.

    Examples
    --------
    >>> from fastnn.datasets import make_circles
    >>> X, y = make_circles(100, random_state=0)
    >>> X.shape, np.bincount(y)
    ((100, 2), array([50, 50]))
    """
    rng = _rng(random_state)
    n_in = n_samples // 2
    radius = np.concatenate([rng.uniform(0, factor, n_in), rng.uniform(factor + 0.1, 1.0, n_samples - n_in)])
    angle = rng.uniform(0, 2 * np.pi, n_samples)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    y = np.concatenate([np.ones(n_in, np.int64), np.zeros(n_samples - n_in, np.int64)])
    return X + noise * rng.standard_normal(X.shape), y


def make_spirals(n_samples=200, noise=0.0, n_turns=1.5, random_state=None):
    """Two interleaved Archimedean spirals, labels 0 and 1.

    Parameters
    ----------
    n_samples : int, default=200
        Number of points.
    noise : float, default=0.0
        Standard deviation of the Gaussian noise added to the points.
    n_turns : float, default=1.5
        Turns of each spiral.
    random_state : int, Generator or None, default=None
        Seed of the random draws.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        The points.
    y : ndarray of shape (n_samples,)
        The integer labels.

    Examples
    --------
    >>> from fastnn.datasets import make_spirals
    >>> X, y = make_spirals(100, random_state=0)
    >>> X.shape, np.bincount(y)
    ((100, 2), array([50, 50]))
    """
    rng = _rng(random_state)
    n0 = n_samples // 2
    t = np.sqrt(rng.uniform(0, 1, n_samples)) * n_turns * 2 * np.pi
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n_samples - n0, np.int64)])
    phase = np.pi * y
    r = t / (n_turns * 2 * np.pi)
    X = np.column_stack([r * np.cos(t + phase), r * np.sin(t + phase)])
    return X + noise * rng.standard_normal(X.shape), y


def make_gaussians(n_samples=200, noise=0.2, centers=((-0.5, -0.5), (0.5, 0.5)), random_state=None):
    """Isotropic Gaussian blobs of standard deviation ``noise`` around ``centers``; label = blob index.

    Parameters
    ----------
    n_samples : int, default=200
        Number of points.
    noise : float, default=0.2
        Standard deviation of the Gaussian noise added to the points.
    centers : array-like of shape (n_centers, n_features), default=((-0.5, -0.5), (0.5, 0.5))
        Centres of the blobs.
    random_state : int, Generator or None, default=None
        Seed of the random draws.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The points.
    y : ndarray of shape (n_samples,)
        The integer labels.

    Examples
    --------
    >>> from fastnn.datasets import make_gaussians
    >>> X, y = make_gaussians(100, random_state=0)
    >>> X.shape, np.bincount(y)
    ((100, 2), array([50, 50]))
    """
    rng = _rng(random_state)
    centers = np.asarray(centers, np.float64)
    y = np.arange(n_samples) % len(centers)
    X = centers[y] + noise * rng.standard_normal((n_samples, centers.shape[1]))
    return X, y.astype(np.int64)
