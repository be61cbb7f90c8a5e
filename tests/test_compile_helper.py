"""The compile helper (``fastnn.network.compile_helper``): a cold layer-by-layer fit starts one helper process, which
compiles the network's kernels from the other end with the argument types the fit passes (so that the fit finds
them cached instead of compiling them), leaves no file behind, does not change the fit's result, and is off with
background compiles. Every fit runs in a fresh process with its own cache (Numba loads a cache once per process)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from fastnn.kernels import _compile_lock

pytestmark = pytest.mark.skipif(_compile_lock.fcntl is None, reason="needs compile locks (POSIX)")

NETS = {
    "mlp": "MLPClassifier(hidden_layer_sizes=(6,), max_iter=2, fused=False, random_state=0)",
    "cnn": "CNNClassifier(input_shape=(1, 4, 4), conv_layers=((3, 3),), max_iter=2, random_state=0)",
    "batchnorm": "NeuralNetRegressor(layers=[Dense(5), BatchNorm(), ReLU(), Dropout(0.2), Dense(1)], loss='huber', "
                 "solver='sgd', max_iter=2, random_state=0)",
}

CHILD = r"""
import glob, json, os, shutil, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
from fastnn import CNNClassifier, MLPClassifier, NeuralNetRegressor
from fastnn.layers import BatchNorm, Dense, Dropout, ReLU
from fastnn.cli.compile_timer import compile_seconds
from fastnn.network import compile_helper
mode, net = sys.argv[1], sys.argv[2]
compile_helper.background.spare_core = lambda: True  # the other test workers may keep the cores busy
X = np.random.default_rng(0).normal(size=(24, 16))
y = X[:, 0] if "Regressor" in net else (X[:, 0] > 0).astype(int)
if mode == "capture":  # the spec a cold fit hands its helper, copied to argv[3]; stops at the first compile
    def spawn(code, path):
        shutil.copy(path, sys.argv[3])
        os._exit(0)
    compile_helper.background.enabled = lambda: True
    compile_helper.background.spawn_quiet = spawn
    eval(net).fit(X, y)
    sys.exit(1)  # never reached: a cold fit compiles
if mode == "record":
    import pickle
    with open(sys.argv[3], "rb") as handle:
        calls, stacks = compile_helper.record(*pickle.load(handle))
        print(json.dumps(sorted({d.py_func.__name__ for d, _ in calls + stacks})))
    sys.exit(0)
with compile_seconds() as seconds:
    model = eval(net).fit(X, y)
    out = (model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)).tolist()
from fastnn.kernels import cache_dir
helpers = [child.wait(timeout=600) for child in compile_helper._children]
print(json.dumps({"compiled": sorted(seconds), "out": out, "helpers": helpers,
                  "left": glob.glob(os.path.join(cache_dir(), "helper-*"))}))
"""


def _run(cache, *args, background="0"):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(NUMBA_CACHE_DIR=str(cache), FASTNN_BACKGROUND_COMPILE=background)
    result = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else None


@pytest.mark.parametrize("name", sorted(NETS))
def test_the_helper_compiles_the_kernels_a_fit_needs_with_the_types_it_passes(name, tmp_path):
    """What the helper compiles into an empty cache, a later fit loads: it compiles none of those kernels itself."""
    spec, copy = tmp_path / "spec.pkl", tmp_path / "spec-copy.pkl"
    _run(tmp_path / "capture", "capture", NETS[name], str(spec))
    shutil.copy(spec, copy)
    helper = subprocess.run(
        [sys.executable, "-c", "import sys; from fastnn.network.compile_helper import main; sys.exit(main())",
         str(spec)], env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}, capture_output=True, text=True,
        timeout=900)
    assert helper.returncode == 0, helper.stderr[-4000:]
    assert not spec.exists()  # the helper removes its spec file
    recorded = set(_run(tmp_path, "record", NETS[name], str(copy)))
    expected = {  # a training step's kernels, forward, loss, backward and optimizer, the output link's, the input check
        "mlp": {"all_finite", "dense_forward", "relu_forward", "sigmoid_cross_entropy", "dense_backward",
                "relu_backward", "adam", "logistic"},
        "cnn": {"all_finite", "pad_nhwc", "conv_forward_cl", "maxpool_forward_2x2", "conv_backward_cl",
                "maxpool_backward_2x2", "dense_backward", "adam", "logistic"},
        "batchnorm": {"all_finite", "batchnorm_forward_train", "batchnorm_backward", "batchnorm_forward_infer",
                      "dropout_forward", "dropout_backward", "huber", "sgd", "identity"},
    }[name]
    assert expected <= recorded, expected - recorded
    fit = _run(tmp_path / "cache", "fit", NETS[name])
    assert set(fit["compiled"]) & recorded == set(), "the fit compiled a kernel the helper had compiled"


def test_a_cold_fit_starts_one_helper_that_leaves_nothing_behind_and_changes_nothing(tmp_path):
    with_helper = _run(tmp_path / "on", "fit", NETS["cnn"], background="1")
    assert with_helper["helpers"] == [0] and with_helper["left"] == []
    without = _run(tmp_path / "off", "fit", NETS["cnn"], background="0")
    assert without["helpers"] == [] and without["left"] == []
    assert with_helper["out"] == without["out"]


def test_for_a_fused_mlp_the_helper_goes_on_to_compile_its_fused_epoch(tmp_path):
    """The fit starts no fused compile of its own while its helper runs: the helper compiles the fit's epoch
    variant after its list, so that a fit that ends first still leaves the fused epoch to the cache."""
    spec = tmp_path / "spec.pkl"
    net = "MLPClassifier(hidden_layer_sizes=(6,), max_iter=2, random_state=0)"  # fused='auto'
    _run(tmp_path / "capture", "capture", net, str(spec))
    cache = tmp_path / "cache"
    helper = subprocess.run(
        [sys.executable, "-c", "import sys; from fastnn.network.compile_helper import main; sys.exit(main())",
         str(spec)], env={**os.environ, "NUMBA_CACHE_DIR": str(cache)}, capture_output=True, text=True, timeout=900)
    assert helper.returncode == 0, helper.stderr[-4000:]
    assert list(cache.rglob("mlp.*mlp_epoch-*.nbi")) and list(cache.rglob("mlp.mlp_forward-*.nbi"))
    fit = _run(cache, "fit", net)  # fused from its first epoch: nothing of the fused path left to compile
    assert not {"mlp_epoch", "mlp_forward"} & set(fit["compiled"])


def test_a_network_too_large_to_hand_over_or_without_a_spare_core_starts_no_helper(monkeypatch):
    import numpy as np

    from fastnn import Sequential, SoftmaxCrossEntropy
    from fastnn.layers import Dense
    from fastnn.network import compile_helper

    monkeypatch.setattr(compile_helper.background, "enabled", lambda: True)
    monkeypatch.setattr(compile_helper.background, "spare_core", lambda: True)
    monkeypatch.setattr(compile_helper, "_children", [])  # the fake child below must not outlive this test
    monkeypatch.setattr(compile_helper.background, "spawn_quiet", lambda *a: pytest.fail("a helper was started"))
    net = Sequential([Dense(50)], SoftmaxCrossEntropy()).build((100,), np.float32, 0)
    monkeypatch.setattr(compile_helper, "MAX_SPEC_BYTES", net.flat_params.nbytes - 1)
    X = np.zeros((2, 100), np.float32)
    assert compile_helper.start(net, X, np.zeros(2, np.intp)) is None  # and no process was spawned
    monkeypatch.setattr(compile_helper.background, "spare_core", lambda: False)  # a parallel search's worker
    assert compile_helper.start(Sequential([Dense(5)], SoftmaxCrossEntropy()).build((100,), np.float32, 0), X,
                                np.zeros(2, np.intp)) is None
    monkeypatch.setattr(compile_helper.background, "spare_core", lambda: True)
    monkeypatch.setattr(compile_helper, "MAX_SPEC_BYTES", net.flat_params.nbytes * 100)
    started = []
    monkeypatch.setattr(compile_helper.background, "spawn_quiet", lambda code, path: started.append(path) or "child")
    assert compile_helper.start(Sequential([Dense(50)], SoftmaxCrossEntropy()).build((100,), np.float32, 0), X,
                                np.zeros(2, np.intp)) == "child"
    os.unlink(started[0])  # the spec a real helper would have read and removed
