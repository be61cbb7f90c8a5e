"""``Sequential``: a stack of layers, a loss and an optimizer, with one flat parameter vector.

After ``build``, each layer's parameters are views into ``flat_params`` and its gradients views into
``flat_grads`` (same order), so an optimizer step is one kernel call over the whole vector, L-BFGS sees the
vector without packing, and ``get_state``/``set_state`` are one copy each.

The objective of ``loss_and_grad`` / ``train_step`` is ``loss(forward(X), y, w) + 0.5 * l2 * sum ||W||^2``
over the penalised arrays (weights, not biases); ``l2`` may be changed between steps.
"""
import numpy as np

from .optimizers import Adam


class Sequential:
    def __init__(self, layers, loss, optimizer=None, l2=0.0):
        self.layers = list(layers)
        self.loss = loss
        self.optimizer = optimizer if optimizer is not None else Adam(1e-3)
        self.l2 = float(l2)
        self.built = False

    def build(self, input_shape, dtype=np.float32, random_state=None):
        """Build every layer for per-sample ``input_shape`` and gather parameters into flat vectors."""
        rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
        self.dtype = np.dtype(dtype)
        shape = tuple(input_shape)
        self.input_shape = shape
        for layer in self.layers:
            shape = layer.build(shape, self.dtype, rng)
        self.output_shape = shape
        sizes = [p.size for layer in self.layers for p in layer.params]
        self.flat_params = np.empty(sum(sizes), self.dtype)
        self.flat_grads = np.zeros(sum(sizes), self.dtype)
        offset = 0
        for layer in self.layers:
            views, grad_views = [], []
            for p in layer.params:
                views.append(self.flat_params[offset : offset + p.size].reshape(p.shape))
                grad_views.append(self.flat_grads[offset : offset + p.size].reshape(p.shape))
                offset += p.size
            layer.bind(views, grad_views)
        # Non-trainable layer state (BatchNorm's running statistics): views into one flat vector, like the params.
        self.flat_state = np.empty(sum(s.size for layer in self.layers for s in layer.state), self.dtype)
        offset = 0
        for layer in self.layers:
            views = []
            for s in layer.state:
                views.append(self.flat_state[offset : offset + s.size].reshape(s.shape))
                offset += s.size
            layer.bind_state(views)
        # Backward stops at the first layer with parameters, which needs no input gradient.
        trainable = [i for i, layer in enumerate(self.layers) if layer.params]
        self._first = trainable[0] if trainable else len(self.layers)
        for i, layer in enumerate(self.layers):
            layer.input_grad = i > self._first
        self._penalized = [p for layer in self.layers for p, pen in zip(layer.params, layer.penalized) if pen]
        self._decaying = [layer for layer in self.layers if any(layer.penalized)]
        self.optimizer.reset()
        self.built = True
        return self

    @property
    def params(self):
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self):
        return [g for layer in self.layers for g in layer.grads]

    def _ensure_built(self, X):
        if not self.built:
            self.build(np.shape(X)[1:], np.float32 if np.asarray(X).dtype == np.float32 else np.float64)

    def forward(self, X, training=False):
        """Network output (logits) for a batch ``X`` of shape ``(N, *input_shape)``."""
        self._ensure_built(X)
        out = self.layers[0].forward(X, training)
        for layer in self.layers[1:]:  # each layer's output is a valid input of the next: no re-checking
            out = layer._forward(out, training)
        return out

    def predict(self, X):
        """Predictions through the loss's output link (probabilities for the cross-entropies)."""
        return self.loss.output(self.forward(X))

    def penalty(self):
        if not self.l2:
            return 0.0
        with np.errstate(over="ignore"):  # diverging weights: inf here, reported by the caller's finiteness check
            return 0.5 * self.l2 * sum(float(np.dot(p.reshape(-1), p.reshape(-1))) for p in self._penalized)

    def loss_and_grad(self, X, y, sample_weight=None):
        """Objective on a batch; fills ``flat_grads`` with its gradient."""
        logits = self.forward(X, training=True)
        loss = self.loss.forward(logits, y, sample_weight)
        for layer in self._decaying:
            layer.decay = self.l2
        dout = self.loss.backward()
        for layer in reversed(self.layers[self._first :]):
            dout = layer.backward(dout)
        return loss + self.penalty()

    def train_step(self, X, y, sample_weight=None):
        """One optimizer step on a batch; returns the batch objective before the step."""
        loss = self.loss_and_grad(X, y, sample_weight)
        self.optimizer.step([self.flat_params], [self.flat_grads])
        return loss

    def get_state(self):
        """A copy of all parameters (one flat vector)."""
        return self.flat_params.copy()

    def set_state(self, state):
        """Copy a vector from ``get_state`` back into the parameters (in place; views stay valid)."""
        state = np.asarray(state)
        if state.shape != self.flat_params.shape:
            raise ValueError(f"state has shape {state.shape}, the network has {self.flat_params.shape} parameters.")
        self.flat_params[...] = state

    def __repr__(self):
        return f"Sequential([{', '.join(map(repr, self.layers))}], {self.loss!r}, {self.optimizer!r})"
