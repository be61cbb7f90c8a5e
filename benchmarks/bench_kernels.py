"""Kernel micro-benchmarks at the shapes of the T2 MLP step (batch 200, 784 -> 100 -> 10) and the T6 CNN.

Each ``setup`` allocates every buffer and calls the kernel once (compile or cache load), so ``time_*``
measures one call of compiled code. Parameters: dtype (float32 is the estimators' default).
"""
import numpy as np

BATCH, N_IN, N_HIDDEN, N_OUT = 200, 784, 100, 10
DTYPES = ["float32", "float64"]


def _kernels(name):
    import importlib

    try:
        return importlib.import_module(f"fastnn.kernels.{name}")
    except ImportError as exc:
        raise NotImplementedError(f"fastnn.kernels.{name} is not available") from exc


class Dense:
    """``out = x @ W + b`` and its backward, first layer (no input gradient) and hidden layer (with)."""

    params = DTYPES
    param_names = ["dtype"]

    def setup(self, dtype):
        self.k = _kernels("dense")
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((BATCH, N_IN)).astype(dtype)
        self.W = rng.standard_normal((N_IN, N_HIDDEN)).astype(dtype)
        self.b = np.zeros(N_HIDDEN, dtype)
        self.out = np.empty((BATCH, N_HIDDEN), dtype)
        self.dout = rng.standard_normal((BATCH, N_HIDDEN)).astype(dtype)
        self.dW, self.db = np.empty_like(self.W), np.empty_like(self.b)
        self.dx = np.empty_like(self.x)
        self.no_dx = np.empty((0, 0), dtype)
        self.time_forward(dtype)
        self.time_backward_first_layer(dtype)
        self.time_backward_with_input_grad(dtype)

    def time_forward(self, dtype):
        self.k.dense_forward(self.x, self.W, self.b, self.out)

    def time_backward_first_layer(self, dtype):
        self.k.dense_backward(self.x, self.W, self.dout, 0.0, self.dW, self.db, self.no_dx)

    def time_backward_with_input_grad(self, dtype):
        self.k.dense_backward(self.x, self.W, self.dout, 1e-4, self.dW, self.db, self.dx)


class Activation:
    """ReLU forward and backward over the hidden activations of one batch (flat views)."""

    params = DTYPES
    param_names = ["dtype"]

    def setup(self, dtype):
        self.k = _kernels("activations")
        rng = np.random.default_rng(0)
        self.z = rng.standard_normal(BATCH * N_HIDDEN).astype(dtype)
        self.y = np.empty_like(self.z)
        self.dout = rng.standard_normal(BATCH * N_HIDDEN).astype(dtype)
        self.dx = np.empty_like(self.z)
        self.time_relu_forward(dtype)
        self.time_relu_backward(dtype)

    def time_relu_forward(self, dtype):
        self.k.activation_forward(self.z, self.k.RELU, 0.0, self.y)

    def time_relu_backward(self, dtype):
        self.k.activation_backward(self.y, self.dout, self.k.RELU, 0.0, self.dx)


class SoftmaxCrossEntropy:
    """Fused softmax + cross-entropy loss and gradient from logits, integer labels."""

    params = DTYPES
    param_names = ["dtype"]

    def setup(self, dtype):
        self.k = _kernels("softmax")
        rng = np.random.default_rng(0)
        self.z = rng.standard_normal((BATCH, N_OUT)).astype(dtype)
        self.labels = rng.integers(0, N_OUT, BATCH)
        self.w = np.empty(0, dtype)
        self.dz = np.empty_like(self.z)
        self.time_loss_and_grad(dtype)

    def time_loss_and_grad(self, dtype):
        self.k.softmax_cross_entropy_labels(self.z, self.labels, self.w, self.dz)


class AdamStep:
    """One Adam update over the flat parameter vector of the 784-100-10 MLP (79,510 values)."""

    params = DTYPES
    param_names = ["dtype"]

    def setup(self, dtype):
        self.k = _kernels("optim")
        n = N_IN * N_HIDDEN + N_HIDDEN + N_HIDDEN * N_OUT + N_OUT
        rng = np.random.default_rng(0)
        self.p = rng.standard_normal(n).astype(dtype)
        self.g = rng.standard_normal(n).astype(dtype)
        self.m, self.v = np.zeros(n, dtype), np.zeros(n, dtype)
        self.time_adam(dtype)

    def time_adam(self, dtype):
        self.k.adam(self.p, self.g, self.m, self.v, 10, 1e-3, 0.9, 0.999, 1e-8, 0.0)


class ConvChannelsLast:
    """Channels-last convolution of the T6 CNN's second layer: 64 x 16 x 14 x 14, 3x3 to 32 filters, stride 1,
    pad 1 (padding, forward, backward with the input gradient), in the layer's chunks."""

    params = ["float32"]
    param_names = ["dtype"]
    shape, filters = (64, 16, 14, 14), 32

    def setup(self, dtype):
        self.k = _kernels("conv")
        if not hasattr(self.k, "conv_forward_cl"):
            raise NotImplementedError("fastnn.kernels.conv has no channels-last path")
        N, C, H, W = self.shape
        F, K, P = self.filters, C * 9, H * W
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal(self.shape).astype(dtype)
        self.W = rng.standard_normal((F, C, 3, 3)).astype(dtype)
        self.b = np.zeros(F, dtype)
        self.dout = rng.standard_normal((N, F, H, W)).astype(dtype)
        self.nc = nc = self.k.chunk_rows(P)
        self.xp = np.empty((N, H + 2, W + 2, C), dtype)
        self.out, self.dx = np.empty((N, F, H, W), dtype), np.empty_like(self.x)
        self.dW, self.db = np.empty_like(self.W), np.empty_like(self.b)
        self.Wr, self.dW_tmp, self.dWr = np.empty((3, F, K), dtype)
        self.cols, self.dcols = np.empty((2, nc * P * K), dtype)
        self.gemm, self.dT = np.empty((2, nc * P * F), dtype)
        self.dxp = np.empty((H + 2, W + 2, C), dtype)
        self.time_pad(dtype)
        self.time_forward(dtype)
        self.time_backward(dtype)

    def time_pad(self, dtype):
        self.k.pad_nhwc(self.x, 1, 1, self.xp)

    def time_forward(self, dtype):
        if hasattr(self.k, "grads_from_cl"):  # the weights reordered by the caller (since 2026-12-07)
            self.k.conv_forward_cl(self.xp, self.k.weights_cl(self.W, self.Wr), self.b, 3, 3, 1, 1, self.nc,
                                   self.cols, self.gemm, self.out)
        else:
            self.k.conv_forward_cl(self.xp, self.W, self.b, 1, 1, self.nc, self.Wr, self.cols, self.gemm, self.out)

    def time_backward(self, dtype):
        if hasattr(self.k, "grads_from_cl"):  # gradients accumulated into zeroed arrays, reordered by the caller
            self.dWr.fill(0)
            self.db.fill(0)
            self.k.conv_backward_cl(self.dout, self.xp, self.k.weights_cl(self.W, self.Wr), 3, 3, 1, 1, 1, 1, self.nc,
                                    self.cols, self.dT, self.dcols, self.dxp, self.dW_tmp, self.dWr, self.db, self.dx)
            self.k.grads_from_cl(self.dWr, self.dW)
        else:
            self.k.conv_backward_cl(self.dout, self.xp, self.W, 0.0, 1, 1, 1, 1, self.nc, self.Wr, self.cols,
                                    self.dT, self.dcols, self.dxp, self.dW_tmp, self.dWr, self.dW, self.db, self.dx)
