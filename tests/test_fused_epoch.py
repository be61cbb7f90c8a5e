"""The fused whole-epoch kernels (``kernels.mlp.epoch_kernel``) against the layered path it replaces: same kernels in
the same order, so every parameter, optimizer buffer and loss value must be bit-identical (``np.array_equal``),
not merely close. The estimators' ``fused`` parameter chooses the path; ``Sequential.fused_epochs`` shows which ran.
Tiny data: the cost here is compilation (one kernel signature per dtype, any depth)."""
import contextlib
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import fastnn
from fastnn import MLPClassifier, MLPRegressor
from fastnn.layers import Dense, ReLU, Tanh
from fastnn import NeuralNetRegressor
from fastnn.kernels import mlp as kernels_mlp
from fastnn.network.fused import FusedMLP

N, F = 50, 6  # 50 rows, batch 16: the last batch has 2 rows


def _data(kind, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, F)).astype(dtype)
    if kind == "multiclass":
        y = np.array(["a", "b", "c"])[rng.integers(0, 3, N)]
    elif kind == "binary":
        y = rng.integers(0, 2, N)
    elif kind == "multilabel":
        y = rng.integers(0, 2, (N, 3))
    elif kind == "regression":
        y = X[:, :2] @ np.array([[1.0, -0.5], [0.3, 2.0]]) + 0.1 * rng.standard_normal((N, 2))
    else:  # counts
        y = rng.poisson(np.exp(0.3 * X[:, 0]))
    return X, y


@contextlib.contextmanager
def _python_epochs():
    """Within the block, ``fused='auto'`` fits run the fused epoch's kernels from Python (``FusedMLP.python_epoch``),
    the tier before the fused kernel is ready: never worth fusing, nothing compiled in the background."""
    saved = FusedMLP.worth_fusing
    FusedMLP.worth_fusing = lambda self, call, steps_left: False
    fastnn.set_background_compile(False)
    try:
        yield
    finally:
        FusedMLP.worth_fusing = saved
        fastnn.set_background_compile(None)


def _fit_both(make, X, y, fit=None):
    """Fit three times from the same seed: fused, layered, and the fused epoch's kernels called from Python, which
    must match the layered fit bit for bit; returns the (fused, layered) estimators."""
    fit = fit or (lambda est: est.fit(X, y))
    models = []
    for fused in (True, False, "python"):
        with warnings.catch_warnings(), (_python_epochs() if fused == "python" else contextlib.nullcontext()):
            warnings.simplefilter("ignore", ConvergenceWarning)
            models.append(fit(make().set_params(fused="auto" if fused == "python" else fused)))
    assert models[1]._net.fused_epochs == models[2]._net.fused_epochs == 0
    assert models[2]._net.layered_epochs == models[0]._net.fused_epochs > 0
    _assert_identical(models[2], models[1])
    return models[:2]


def _assert_identical(a, b):
    for name, pa, pb in zip(
        [f"coefs_[{i}]" for i in range(len(a.coefs_))] + [f"intercepts_[{i}]" for i in range(len(a.intercepts_))],
        a.coefs_ + a.intercepts_,
        b.coefs_ + b.intercepts_,
    ):
        assert pa.dtype == pb.dtype
        assert np.array_equal(pa, pb), f"{name}: fused differs from layered by {np.max(np.abs(pa - pb))}"
    assert np.array_equal(a.loss_curve_, b.loss_curve_), f"loss_curve_ fused {a.loss_curve_} layered {b.loss_curve_}"
    assert a.loss_ == b.loss_ and a.n_iter_ == b.n_iter_ and a.t_ == b.t_
    oa, ob = a._optimizer, b._optimizer
    assert oa.t == ob.t and float(oa.lr) == float(ob.lr)
    assert (oa.state is None) == (ob.state is None)
    if oa.state is not None:
        for sa, sb in zip(oa.state[0], ob.state[0]):
            assert np.array_equal(sa, sb), "optimizer state differs"


CASES = {
    # id: (estimator class, data kind, hyperparameters)
    "multiclass-adam-relu-f32": (MLPClassifier, "multiclass", dict(solver="adam")),
    "multiclass-adam-2layers-tanh-f64": (
        MLPClassifier, "multiclass", dict(hidden_layer_sizes=(7, 5), activation="tanh", dtype=np.float64)),
    "binary-sgd-nesterov-logistic": (
        MLPClassifier, "binary", dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, activation="logistic",
                                      learning_rate_init=0.05)),
    "binary-sgd-momentum-invscaling": (
        MLPClassifier, "binary", dict(solver="sgd", momentum=0.5, nesterovs_momentum=False,
                                      learning_rate="invscaling", learning_rate_init=0.1)),
    "multiclass-sgd-plain-leaky-2layers": (
        MLPClassifier, "multiclass", dict(solver="sgd", momentum=0.0, activation="leaky_relu",
                                          hidden_layer_sizes=(7, 5), learning_rate_init=0.05)),
    "multilabel-rmsprop": (MLPClassifier, "multilabel", dict(solver="rmsprop")),
    "multilabel-adagrad-identity-f64": (
        MLPClassifier, "multilabel", dict(solver="adagrad", activation="identity", dtype=np.float64)),
    "regression-squared-adagrad": (MLPRegressor, "regression", dict(solver="adagrad")),
    "regression-squared-adam-2layers-f64": (
        MLPRegressor, "regression", dict(hidden_layer_sizes=(7, 5), dtype=np.float64)),
    "regression-poisson-adamw": (MLPRegressor, "counts", dict(loss="poisson", solver="adamw", weight_decay=0.1)),
    "regression-poisson-sgd-no-hidden": (
        MLPRegressor, "counts", dict(loss="poisson", solver="sgd", hidden_layer_sizes=(), learning_rate_init=0.01)),
    # robust losses: residuals of this data straddle delta=0.5 and 0, so both branches of each kernel run
    "regression-huber-adam": (MLPRegressor, "regression", dict(loss="huber", huber_delta=0.5)),
    "regression-huber-sgd-2layers-f64": (
        MLPRegressor, "regression", dict(loss="huber", huber_delta=0.5, solver="sgd", hidden_layer_sizes=(7, 5),
                                         dtype=np.float64, learning_rate_init=0.01)),
    "regression-absolute-rmsprop": (MLPRegressor, "regression", dict(loss="absolute_error", solver="rmsprop")),
    "regression-absolute-adam-f64": (
        MLPRegressor, "regression", dict(loss="absolute_error", dtype=np.float64)),
    "neuralnet-huber-tanh-relu": (
        NeuralNetRegressor, "regression", dict(loss="huber", huber_delta=0.3,
                                               layers=[Dense(7), Tanh(), Dense(5), ReLU()])),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fused_epoch_bit_identical(case):
    cls, kind, params = CASES[case]
    params = {"hidden_layer_sizes": (8,), "batch_size": 16, "max_iter": 4, "random_state": 0, "alpha": 1e-3,
              **params}
    if cls is NeuralNetRegressor:
        del params["hidden_layer_sizes"]
    X, y = _data(kind)
    fused, layered = _fit_both(lambda: cls(**params), X, y)
    assert fused._net.fused_epochs == 4, "the fused kernel did not run for every epoch"
    _assert_identical(fused, layered)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_epoch_sample_weight_with_zero_weight_batch(dtype):
    X, y = _data("multiclass")
    sw = np.random.default_rng(1).uniform(0.1, 3.0, N)
    sw[16:32] = 0.0  # without shuffling, the whole second batch weighs nothing: no step, no loss
    make = lambda: MLPClassifier((8,), batch_size=16, max_iter=3, random_state=0, shuffle=False, dtype=dtype)
    fused, layered = _fit_both(make, X, y, fit=lambda est: est.fit(X, y, sample_weight=sw))
    assert fused._net.fused_epochs == 3
    _assert_identical(fused, layered)
    assert fused._optimizer.t == 3 * 3  # 4 batches per epoch, one of them skipped


def test_fused_epoch_partial_fit_continues_optimizer():
    X, y = _data("regression")

    def fit(est):
        for start in (0, 20, 0):
            est.partial_fit(X[start : start + 30], y[start : start + 30])
        return est

    fused, layered = _fit_both(
        lambda: MLPRegressor(hidden_layer_sizes=(8,), batch_size=16, random_state=0, solver="sgd", momentum=0.9), X, y, fit
    )
    assert fused._net.fused_epochs == 3
    _assert_identical(fused, layered)


def test_fused_epoch_divergence_same_error_and_restored():
    X, y = _data("regression")
    X[:5] *= 1e30  # overflows float32 on the first batch containing them
    errors, states = [], []
    for fused in (True, False, "python"):
        est = MLPRegressor(hidden_layer_sizes=(8,), batch_size=16, max_iter=2, random_state=0,
                           fused="auto" if fused == "python" else fused)
        with _python_epochs() if fused == "python" else contextlib.nullcontext():
            est.partial_fit(X[5:], y[5:])
            assert est._net.fused_epochs == (1 if fused is True else 0)
            before = [p.copy() for p in est.coefs_ + est.intercepts_]
            t_before = est._optimizer.t
            with pytest.raises(ValueError, match="non-finite") as info:
                est.partial_fit(X, y)
        errors.append(str(info.value))
        assert all(np.array_equal(p, q) for p, q in zip(est.coefs_ + est.intercepts_, before))
        assert est._optimizer.t == t_before and est.loss_curve_ == est.loss_curve_[:1]
        states.append(before)
    assert errors[0] == errors[1] == errors[2], f"fused: {errors[0]!r}\nlayered: {errors[1]!r}\npython: {errors[2]!r}"
    assert "mini-batch" in errors[0]


def test_fused_epoch_not_used_for_dropout_or_sparse():
    X, y = _data("multiclass", np.float32)
    dropout = MLPClassifier((8,), batch_size=16, random_state=0, dropout=0.2, fused=True)
    sparse = MLPClassifier((8,), batch_size=16, random_state=0, fused=True)
    dropout.partial_fit(X, y, classes=["a", "b", "c"])
    sparse.partial_fit(sp.csr_matrix(X), y, classes=["a", "b", "c"])
    assert dropout._net.fused_epochs == sparse._net.fused_epochs == 0


def test_fused_epoch_read_only_inputs_share_one_signature():
    """Read-only X / y / sample_weight (memmaps, frozen benchmark arrays) take the fused path too, through the
    same compiled signature as writable ones (the kernel receives every input as a read-only view)."""
    X, y = _data("multiclass", np.float32)
    sw = np.ones(N, np.float32)
    make = lambda: MLPClassifier((8,), batch_size=16, max_iter=2, random_state=0, fused=True)
    kernel = kernels_mlp.epoch_kernel(kernels_mlp.SOFTMAX_LABELS, kernels_mlp.ADAM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        writable = make().fit(X, y, sample_weight=sw)
        n_signatures = len(kernel.signatures)
        for a in (X, y, sw):
            a.flags.writeable = False
        frozen = make().fit(X, y, sample_weight=sw)
    assert writable._net.fused_epochs == frozen._net.fused_epochs == 2
    assert len(kernel.signatures) == n_signatures
    _assert_identical(frozen, writable)


def test_large_weighted_batch_is_fused_and_identical():
    """Both paths take a batch's weight total from the same kernel (``kernels.softmax.weight_total``), so a
    weighted batch of any size (here 9000 rows, past NumPy's 8192-element cast buffer) stays bit-identical."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((9000, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    w = rng.uniform(0.1, 2.0, 9000).astype(np.float32)

    def make():
        return MLPClassifier((4,), batch_size=9000, max_iter=2, random_state=0)

    fused, layered = _fit_both(make, X, y, fit=lambda est: est.fit(X, y, sample_weight=w))
    assert fused._net.fused_epochs == 2, "the fused kernel did not run"
    _assert_identical(fused, layered)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden,activation", [((), "relu"), ((5,), "tanh"), ((5, 4), "leaky_relu"), ((3,), "logistic")])
def test_fused_inference_equals_the_layered_forward(hidden, activation, dtype):
    """Prediction on an MLP is one ``mlp_forward`` call; its logits equal ``Sequential.forward``'s bit for bit."""
    X, y = _data("multiclass", dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier(hidden, activation=activation, max_iter=2, dtype=dtype, random_state=0).fit(X, y)
    net = est.network_
    fused = net._fused_plan().forward(X)
    np.testing.assert_array_equal(fused, net.forward(X, training=False))
    np.testing.assert_array_equal(net.logits(X), fused)


VARIANT = r"""
import json, sys, warnings
import numpy as np
from fastnn import MLPClassifier
from fastnn.cli.compile_timer import compile_seconds
from fastnn.kernels import cache_dir
X = np.random.default_rng(0).standard_normal((40, 4)).astype(np.float32)
y = np.arange(40) % 3
with compile_seconds() as seconds, warnings.catch_warnings():
    warnings.simplefilter("ignore")
    MLPClassifier((5,), solver=sys.argv[1], max_iter=2, batch_size=16, fused=True, random_state=0).fit(X, y)
import pathlib
print(json.dumps({"compiled": sorted(seconds),
                  "files": sorted(p.name for p in pathlib.Path(cache_dir()).glob("*mlp_epoch*.nbi"))}))
"""


def test_an_epoch_variant_compiles_only_its_loss_and_rule_and_has_cache_files_of_its_own(tmp_path):
    """The epoch kernel is made per (loss, optimizer rule): a multiclass adam fit on an empty cache compiles no
    other loss's or rule's kernel, and an sgd fit's variant is stored beside it, not over it."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def fit(solver):
        out = subprocess.run([sys.executable, "-c", VARIANT, solver], env=env, capture_output=True, text=True,
                             timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    adam = fit("adam")
    assert "mlp_epoch" in adam["compiled"] and "adam" in adam["compiled"]
    others = {"sgd", "adagrad", "rmsprop", "softmax_cross_entropy", "sigmoid_cross_entropy", "squared_error",
              "poisson", "absolute_error", "huber"}
    assert not others & set(adam["compiled"]), adam["compiled"]
    sgd = fit("sgd")
    assert "mlp_epoch" in sgd["compiled"] and "adam" not in sgd["compiled"]
    assert len(adam["files"]) == 1 and len(sgd["files"]) == 2 and adam["files"][0] in sgd["files"]
    again = fit("adam")
    assert "adam" not in again["compiled"] and "mlp_epoch" not in again["compiled"], "both variants stay cached"


@pytest.mark.parametrize("fused", [True, "auto"])
def test_fused_plan_rejects_labels_outside_the_classes(fused):
    """Both fused-plan paths index the logits by the labels: one out of range is a ValueError, never a read past
    the row (the layered loss checks its labels per batch; the plan checks them once per epoch)."""
    from fastnn.losses import SoftmaxCrossEntropy
    from fastnn.network.sequential import Sequential

    net = Sequential([Dense(3), ReLU(), Dense(2)], SoftmaxCrossEntropy(), fused=fused).build((2,), np.float64, 0)
    X = np.zeros((4, 2))
    before = net.copy_params()
    for labels in ([0, 1, 2, 0], [0, -1, 1, 0]):
        with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
            net.train_epoch(X, np.array(labels), None, np.arange(4), 2, 1e-4)
    assert np.array_equal(net.copy_params(), before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_python_forward_matches_layered_and_fused_inference(dtype):
    """Before ``mlp_forward`` is ready, small inputs take its kernel calls from Python: the same logits, bit for
    bit, as the layered pass and as ``mlp_forward``; large ones stay on the layered pass."""
    from fastnn.layers import LeakyReLU
    from fastnn.losses import SoftmaxCrossEntropy
    from fastnn.network.sequential import Sequential

    net = Sequential([Dense(7), Tanh(), Dense(5), LeakyReLU(0.1), Dense(3)], SoftmaxCrossEntropy()).build(
        (F,), dtype, 0)
    X = np.random.default_rng(2).standard_normal((9, F)).astype(dtype)
    plan = net._fused_plan()
    layered = net.forward(X, training=False)
    python = plan.python_forward(X)
    assert np.array_equal(python, layered) and python.dtype == dtype
    assert np.array_equal(plan.forward(X), layered)
    calls = []
    saved = FusedMLP.python_forward
    FusedMLP.python_forward = lambda self, X: calls.append(X.shape[0]) or saved(self, X)
    try:
        plan.forward_ready = lambda X: False  # as before mlp_forward is compiled
        assert np.array_equal(net.logits(X), layered)
        big = np.random.default_rng(3).standard_normal((5000, F)).astype(dtype)
        assert np.array_equal(net.logits(big), net.forward(big, training=False))
    finally:
        FusedMLP.python_forward = saved
    assert calls == [9]


@pytest.mark.parametrize("fused", ["python", False])
def test_an_overflowing_penalty_stops_the_epoch_without_a_warning(fused):
    """Weights so large that the L2 penalty's dot products overflow: the epoch reports its first batch as not finite
    and warns nothing, on the layered path and on the fused kernels' calls from Python alike."""
    from fastnn.losses import SquaredError
    from fastnn.network.sequential import Sequential

    with _python_epochs() if fused == "python" else contextlib.nullcontext():
        net = Sequential([Dense(4), ReLU(), Dense(1)], SquaredError(), fused="auto" if fused == "python" else False)
        net.build((3,), np.float32, 0)
        net.flat_params[:] = 3e19  # ||W||^2 overflows float32
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = net.train_epoch(np.ones((8, 3), np.float32), np.ones((8, 1), np.float32), None, np.arange(8), 4,
                                     1e-4)
    assert result == (0.0, 0, 1)
    assert net.layered_epochs == 1 and net.fused_epochs == 0
