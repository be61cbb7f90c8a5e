"""Every example runs in its fast setting and returns what it printed; figures are written and non-empty.

The examples live in ``examples/`` (not a package); each is loaded from its path and its ``main(fast=True,
out_dir=tmp_path)`` called in-process, headless (``MPLBACKEND=Agg``), so the whole file stays well under
a minute and a half on 2 cores.
"""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn.datasets import save_idx

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


@pytest.fixture(autouse=True)
def _headless(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.syspath_prepend(EXAMPLES)  # distributed_search.py imports grid_search.py


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_figures(paths, out_dir, names):
    assert [os.path.basename(p) for p in paths] == names
    for path in paths:
        assert os.path.dirname(os.path.abspath(path)) == os.path.abspath(out_dir)
        assert os.path.getsize(path) > 1000, f"{path} is (nearly) empty"
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"


def test_quickstart_fast_runs_without_matplotlib(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # any `import matplotlib` now raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    res = load_example("quickstart").main(fast=True, out_dir=str(tmp_path))
    assert res["fastnn_accuracy"] > 0.9, res
    assert res["sklearn_accuracy"] > 0.9, res
    assert res["fastnn_fit_time"] > 0 and res["sklearn_fit_time"] > 0
    assert res["speedup"] == pytest.approx(res["sklearn_fit_time"] / res["fastnn_fit_time"])
    out = capsys.readouterr().out
    assert "fastnn.MLPClassifier" in out and "sklearn MLPClassifier" in out and "speed ratio" in out


def test_playground_fast_shows_the_activation_story(tmp_path):
    out = load_example("playground").main(fast=True, out_dir=str(tmp_path))
    res = out["results"]
    assert len(res) == 4 * 6
    # A linear network cannot separate the circles from (x1, x2) ...
    assert res[("circles", "identity", False)]["accuracy"] < 0.8, res[("circles", "identity", False)]
    # ... but can once x1^2 and x2^2 are given; logistic and relu hidden units can without them.
    assert res[("circles", "identity", True)]["accuracy"] > 0.95, res[("circles", "identity", True)]
    assert res[("circles", "logistic", False)]["accuracy"] > 0.95, res[("circles", "logistic", False)]
    assert res[("circles", "relu", False)]["accuracy"] > 0.9, res[("circles", "relu", False)]
    # relu converges in fewer epochs than logistic.
    assert res[("circles", "relu", False)]["n_iter"] < res[("circles", "logistic", False)]["n_iter"], res
    assert res[("gaussians", "identity", False)]["accuracy"] > 0.9
    assert_figures(out["figures"], tmp_path, ["playground.png"])


def test_optimizers_fast_curves(tmp_path):
    out = load_example("optimizers").main(fast=True, out_dir=str(tmp_path))
    curves = out["curves"]
    assert list(curves) == ["SGD", "SGD+momentum", "Nesterov", "Adagrad", "RMSProp", "Adam"]
    for name, curve in curves.items():
        assert len(curve) == out["epochs"], name
        assert curve[-1] < 0.5 * curve[0], f"{name}: loss {curve[0]:.3f} -> {curve[-1]:.3f}"
        assert out["accuracy"][name] > 0.85, (name, out["accuracy"][name])
    # Momentum helps plain SGD at the same learning rate; Adam beats plain SGD too.
    assert curves["SGD+momentum"][-1] < curves["SGD"][-1]
    assert curves["Nesterov"][-1] < curves["SGD"][-1]
    assert curves["Adam"][-1] < curves["SGD"][-1]
    assert_figures(out["figures"], tmp_path, ["optimizers.png"])


def test_watching_a_fit_fast(tmp_path):
    pytest.importorskip("sklearn.callback", reason="sklearn.callback needs scikit-learn >= 1.9")
    out = load_example("watching_a_fit").main(fast=True, out_dir=str(tmp_path))
    curves = out["curves"]
    assert all(len(curve) == out["epochs"] for curve in curves.values())
    # The restored model is the best epoch's: its validation log loss is the best one, below the last epoch's.
    assert out["restored_validation_log_loss"] == pytest.approx(out["best_validation_log_loss"], rel=1e-5)
    assert out["best_validation_log_loss"] == pytest.approx(min(curves["val_log_loss"]), rel=1e-12)
    assert out["best_validation_log_loss"] < out["last_validation_log_loss"]
    assert curves["train_log_loss"][-1] < curves["train_log_loss"][0] and out["test_accuracy"] > 0.9
    # The steered fit stopped at the first epoch reaching the target, as the unsteered fit's curve shows.
    first = next(i for i, acc in enumerate(curves["val_accuracy"], start=1) if acc >= 0.95)
    assert out["steered_epochs"] == first < out["epochs"]
    assert_figures(out["figures"], tmp_path, ["watching_a_fit.png"])


def test_xnor_fast_truth_tables(tmp_path, capsys):
    res = load_example("xnor").main(fast=True, out_dir=str(tmp_path))
    for gate in ("AND", "OR", "NAND", "NOR", "NOT"):
        assert res["single"][gate] == 1.0, gate
    assert res["single"]["XNOR"] <= 0.75  # no straight line separates XNOR
    assert res["hand_wired"] == 1.0
    assert res["two_layer"][8]["learned"] == res["two_layer"][8]["seeds"]
    assert res["trained"] == 1.0
    assert "XNOR, hand-wired" in capsys.readouterr().out


@pytest.mark.skipif(not hasattr(fastnn, "CNNClassifier"),
                    reason="fastnn.CNNClassifier does not exist yet (conv layers landed; the estimator is pending)")
def test_cnn_digits_fast(tmp_path):
    res = load_example("cnn_digits").main(fast=True, out_dir=str(tmp_path))
    assert res["cnn_accuracy"] > 0.85, res
    assert_figures(res["figures"], tmp_path, ["cnn_confusion.png", "cnn_filters.png"])


def test_grid_search_fast(tmp_path):
    res = load_example("grid_search").main(fast=True, out_dir=str(tmp_path), n_jobs=2)
    assert res["fastnn_best_score"] > 0.8, res
    assert res["sklearn_best_score"] > 0.8, res
    (table,) = res["scores"].values()
    assert table.shape == (2, 2) and np.isfinite(table).all()
    assert_figures(res["figures"], tmp_path, ["grid_search.png"])


def test_distributed_search_fast_on_local_cluster(tmp_path):
    pytest.importorskip("distributed", reason="dask[distributed] is not installed (pip install 'fastnn[distributed]')")
    res = load_example("distributed_search").main(fast=True, out_dir=str(tmp_path), n_workers=2)
    assert res["n_workers"] == 2
    assert res["best_score"] > 0.8, res
    assert_figures(res["figures"], tmp_path, ["distributed_search.png"])


def write_synthetic_mnist(folder, n_train=2000, n_test=200, gz=True):
    """Tiny MNIST-shaped IDX files: class k is a bright 6x6 patch at a class-specific place, plus noise."""
    rng = np.random.default_rng(0)
    ext = ".gz" if gz else ""

    def images(labels):
        X = rng.integers(0, 60, (len(labels), 28, 28)).astype(np.uint8)
        for i, k in enumerate(labels):
            r, c = 3 + 12 * (k // 5), 1 + 5 * (k % 5)
            X[i, r : r + 6, c : c + 6] = 255
        return X

    y_train, y_test = rng.integers(0, 10, n_train).astype(np.uint8), rng.integers(0, 10, n_test).astype(np.uint8)
    save_idx(os.path.join(folder, "train-images-idx3-ubyte" + ext), images(y_train))
    save_idx(os.path.join(folder, "train-labels-idx1-ubyte" + ext), y_train)
    save_idx(os.path.join(folder, "t10k-images-idx3-ubyte" + ext), images(y_test))
    save_idx(os.path.join(folder, "t10k-labels-idx1-ubyte" + ext), y_test)


def test_mnist_fast_on_synthetic_idx_files(tmp_path):
    data = tmp_path / "mnist"
    data.mkdir()
    write_synthetic_mnist(str(data))
    res = load_example("mnist").main(fast=True, out_dir=str(tmp_path / "figs"), data=str(data))
    assert res["n_train"] == 2000
    assert res["accuracy"] > 0.9, res
    assert_figures(res["figures"], tmp_path / "figs", ["mnist_learning_curves.png"])


def test_mnist_without_data_says_how_to_get_it(tmp_path):
    mnist = load_example("mnist")
    with pytest.raises(FileNotFoundError, match="--data"):
        mnist.main(fast=True, out_dir=str(tmp_path), data=None)
    write_synthetic_mnist(str(tmp_path), n_train=10, n_test=10, gz=False)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError, match="t10k-labels") as info:
        mnist.main(fast=True, out_dir=str(tmp_path), data=str(tmp_path))
    assert "curl" in str(info.value)


def test_mnist_command_line_without_data_exits_with_instructions():
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, "mnist.py")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert "MNIST is not bundled" in proc.stderr and "--data" in proc.stderr


def test_custom_network_fast(tmp_path, capsys):
    res = load_example("custom_network").main(fast=True, out_dir=str(tmp_path))
    (bn_name, cnn_name) = res["digits_accuracy"]
    assert res["digits_accuracy"][bn_name] > 0.9, res["digits_accuracy"]
    assert res["digits_accuracy"][cnn_name] > 0.85, res["digits_accuracy"]
    mse = res["regression_mse"]
    assert mse["huber"] < 0.1 and mse["absolute_error"] < 0.1 and mse["squared_error"] > 10 * mse["huber"], mse
    assert "NeuralNetClassifier" in capsys.readouterr().out
    assert_figures(res["figures"], tmp_path, ["custom_network.png"])


def test_learned_features_fast(tmp_path, capsys):
    res = load_example("learned_features").main(fast=True, out_dir=str(tmp_path))
    acc = res["accuracy"]
    assert list(acc) == ["15 nearest neighbours", "logistic regression", "gradient boosting"]
    # nearest neighbours measure distance in the network's 8-feature space far better than in 100 mostly-noise ones
    assert acc["15 nearest neighbours"]["learned"] > acc["15 nearest neighbours"]["raw"] + 0.1, acc
    assert res["network_accuracy"] > 0.65 and all(0.25 < a[k] <= 1 for a in acc.values() for k in a), res
    out = capsys.readouterr().out
    assert "<- transform" in out and "mlpclassifier_hidden7" in out
    assert_figures(res["figures"], tmp_path, ["learned_features.png"])
