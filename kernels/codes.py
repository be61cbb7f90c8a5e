"""The integer codes and table columns the kernels and their callers share, in a module without Numba, so that
callers can name them without loading the kernels (``fastnn.kernels`` loads a kernel module at its first use).

- Activations (``kernels.activations``): ``IDENTITY``, ``RELU``, ``LEAKY_RELU``, ``LOGISTIC``, ``TANH``.
- Optimizer rules (``kernels.optim``) and the positions of their float64 ``hyper`` vector (read by ``kernels.mlp``).
- Fused losses (``kernels.mlp``) and the columns of the fused MLP's layer ``table``.
"""
IDENTITY, RELU, LEAKY_RELU, LOGISTIC, TANH = 0, 1, 2, 3, 4

SGD, ADAM, ADAGRAD, RMSPROP = 0, 1, 2, 3
#: Positions in the float64 ``hyper`` vector that the fused epoch (``kernels.mlp``) reads an optimizer's rule from.
LR, MOMENTUM, DAMPENING, NESTEROV, BETA1, BETA2, EPS, WEIGHT_DECAY, RHO = range(9)
N_HYPER = 9

SOFTMAX_LABELS, SOFTMAX, SIGMOID, SQUARED, POISSON, ABSOLUTE, HUBER = 0, 1, 2, 3, 4, 5, 6
N_IN, N_OUT, W_OFF, B_OFF, ACT, Z_OFF, DZ_OFF, H_OFF, DH_OFF = range(9)
