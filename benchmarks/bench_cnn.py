"""T6 at a reduced size: one training epoch of the CNN of ``benchmarks/cnn_epoch.py`` (conv 3x3 'same' 16 -> relu
-> maxpool 2 -> conv 3x3 'same' 32 -> relu -> maxpool 2 -> dense 10, adam, batch 64, float32) on the first
``n_samples`` of its random 1x28x28 images. The network and the epoch loop are cnn_epoch.py's own.
"""
import numpy as np


def _cnn_epoch():
    try:
        from . import cnn_epoch
    except ImportError as exc:  # fastnn has no Conv2D / MaxPool2D yet
        raise NotImplementedError(f"the CNN layers are not available: {exc}") from exc
    return cnn_epoch


class CNNEpoch:
    params = [2000]
    param_names = ["n_samples"]
    timeout = 300

    def setup(self, n_samples):
        self.mod = _cnn_epoch()
        X, y = self.mod.make_data()
        self.X, self.y = X[:n_samples], y[:n_samples]
        self.net = self.mod.fastnn_model()
        self.order = np.random.default_rng(1).permutation(n_samples)
        self.mod.fastnn_epoch(self.net, self.X, self.y, self.order[: 4 * self.mod.BATCH])  # compile / load

    def time_epoch(self, n_samples):
        self.mod.fastnn_epoch(self.net, self.X, self.y, self.order)


class CNNShapeEpoch:
    """One training epoch of two more networks of ``benchmarks/cnn_shapes.py`` on their first ``n_samples``
    random images: ``cifar5`` (3x32x32, a 5x5 first layer of 32 filters, then 3x3 64; batch 64) and ``wide``
    (1x28x28, a single 3x3 convolution of 64 filters; batch 128)."""

    params = [["cifar5", "wide"], [512]]
    param_names = ["shape", "n_samples"]
    timeout = 300

    def setup(self, shape, n_samples):
        try:
            from . import cnn_shapes
        except ImportError as exc:  # fastnn has no Conv2D / MaxPool2D yet
            raise NotImplementedError(f"the CNN layers are not available: {exc}") from exc
        self.mod = cnn_shapes
        image, convs, self.batch = cnn_shapes.SHAPES[shape]
        self.X, self.y = cnn_shapes.make_data(image, n_samples)
        self.net = cnn_shapes.fastnn_model(image, convs)
        self.order = np.random.default_rng(1).permutation(n_samples)
        cnn_shapes.fastnn_epoch(self.net, self.X, self.y, self.order[: 2 * self.batch], self.batch)  # compile / load

    def time_epoch(self, shape, n_samples):
        self.mod.fastnn_epoch(self.net, self.X, self.y, self.order, self.batch)
