"""The ``Sequential`` behind a fitted estimator, and its two-way binding to ``coefs_``/``intercepts_``/``layer_state_``.

The fitted truth is the arrays: ``coefs_``/``intercepts_`` (per layer with parameters, its multiplicative and
additive arrays: ``W``/``b``, or BatchNorm's ``gamma``/``beta``) and ``layer_state_`` (non-trainable layer state,
BatchNorm's running statistics) are views into the network's flat vectors (``expose_params``). When they are no
longer the network's own (after unpickling, a restore, or a user assigning new arrays) ``fitted_network`` builds a
new network from the hyperparameters, copies the arrays in and exposes the new views (``rebuild_network``).
"""
import operator
import threading
import weakref

import numpy as np

from ..layers import Dropout
from ..network import Sequential
from .stack import build_error

#: Guards the (rare) rebuild of an estimator's network from ``coefs_``, so threads predicting at once on a freshly
#: unpickled model build it once; the prediction path itself holds no shared scratch buffers.
_NET_LOCK = threading.RLock()
#: network -> the (coefs_, intercepts_, layer_state_) arrays ``expose_params`` last gave an estimator from it, which
#: ``owns_params`` compares against on every prediction (kept here, not on the network: the binding is this module's)
_EXPOSED = weakref.WeakKeyDictionary()


def dropout_rng_state(net):
    """The bit-generator states of the network's dropout layers (their masks continue from there)."""
    return [layer.rng_state for layer in net.layers if isinstance(layer, Dropout) and layer.rng_state is not None]


def set_dropout_rng_state(net, states):
    layers = [layer for layer in net.layers if isinstance(layer, Dropout) and layer.rng_state is not None]
    if len(layers) == len(states):
        for layer, state in zip(layers, states):
            layer.rng_state = state


def build_network(est, n_features, n_outputs, seed):
    """A new built network for ``est``'s hyperparameters; dropout masks seeded with ``seed``. A stack that cannot
    take its input raises the ``ValueError`` of ``stack.build_error``, naming the layer."""
    net = Sequential(est._make_layers(n_features, n_outputs), est._make_loss(), fused=est.fused)
    try:
        net.build(est._input_shape(n_features), est._np_dtype, np.random.default_rng(seed))
    except ValueError as exc:
        error = build_error(net, exc, est._describe_layer)
        if error is None:
            raise
        raise error from None
    return net


def expose_params(est, net):
    """Make ``est.coefs_``/``intercepts_``/``layer_state_`` views into ``net``'s flat vectors (``layer_state_`` only
    for stacks with state)."""
    layers = [layer for layer in net.layers if layer.params]
    for layer in layers:
        if len(layer.params) != 2:
            raise ValueError(
                f"{layer!r} has {len(layer.params)} parameter arrays; the estimators expose each layer's "
                "parameters as a (coefs_[i], intercepts_[i]) pair, so a layer inside an estimator needs exactly "
                "two."
            )
    est.coefs_ = [layer.params[0] for layer in layers]
    est.intercepts_ = [layer.params[1] for layer in layers]
    state = [s for layer in net.layers for s in layer.state]
    if state:
        est.layer_state_ = state
    else:
        est.__dict__.pop("layer_state_", None)
    _EXPOSED[net] = (tuple(est.coefs_), tuple(est.intercepts_), tuple(state))


def owns_params(est, net):
    """Whether ``est``'s fitted arrays are still exactly the views ``expose_params`` gave it from ``net`` (same
    objects, same dtype)."""
    exposed = _EXPOSED.get(net)
    if exposed is None:
        return False
    coefs, intercepts, state = exposed
    own_coefs, own_intercepts = est.coefs_, est.intercepts_
    own_state = est.__dict__.get("layer_state_", ())
    return (
        len(own_coefs) == len(coefs)
        and len(own_intercepts) == len(intercepts)
        and len(own_state) == len(state)
        and all(map(operator.is_, own_coefs, coefs))
        and all(map(operator.is_, own_intercepts, intercepts))
        and all(map(operator.is_, own_state, state))
        and net.dtype == np.dtype(est.dtype)
    )


def fitted_network(est):
    """``est``'s network, rebuilt (and rebound) when the fitted arrays are no longer its own."""
    net = est.__dict__.get("_net")
    if net is not None and owns_params(est, net):
        return net
    with _NET_LOCK:
        net = est.__dict__.get("_net")
        if net is not None and owns_params(est, net):
            return net  # another thread rebuilt it meanwhile
        return rebuild_network(est)


def rebuild_network(est):
    """A network built from ``est``'s hyperparameters holding copies of its fitted arrays (and its dropout
    generators' saved states); the arrays become views into it. ValueError when the arrays do not fit the
    architecture."""
    net = build_network(est, est.n_features_in_, est.n_outputs_, est.__dict__.get("_seed", 0))
    layers = [layer for layer in net.layers if layer.params]
    if len(layers) != len(est.coefs_) or any(
        l.params[0].shape != np.shape(c) or l.params[1].shape != np.shape(b)
        for l, c, b in zip(layers, est.coefs_, est.intercepts_)
    ):
        raise ValueError(
            "coefs_/intercepts_ do not match the architecture given by the current hyperparameters "
            f"({[np.shape(c) for c in est.coefs_]}); refit the model or restore the hyperparameters."
        )
    for layer, c, b in zip(layers, est.coefs_, est.intercepts_):
        layer.params[0][...] = c
        layer.params[1][...] = b
    state = [s for layer in net.layers for s in layer.state]
    saved = est.__dict__.get("layer_state_", [])
    if len(saved) != len(state) or any(s.shape != np.shape(v) for s, v in zip(state, saved)):
        raise ValueError(
            f"layer_state_ ({[np.shape(v) for v in saved]}) does not match the layer state of the architecture "
            f"({[s.shape for s in state]}); refit the model or restore the hyperparameters."
        )
    for s, v in zip(state, saved):
        s[...] = v
    rng_state = est.__dict__.pop("_dropout_rng_state", None)
    if rng_state is not None:
        set_dropout_rng_state(net, rng_state)
    expose_params(est, net)
    est._net = net
    return net
