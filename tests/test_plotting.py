"""fastnn.plotting: learning curves of fitted estimators, compact PNGs, and a clear error without matplotlib."""
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastnn import MLPClassifier, MLPRegressor
from fastnn.plotting import plot_learning_curves, save_figure

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _labels(ax):
    return [line.get_label() for line in ax.get_lines()]


def test_plot_learning_curves_early_stopping_draws_loss_validation_loss_and_score(digits):
    model = _fit(MLPClassifier(hidden_layer_sizes=(16,), early_stopping=True, max_iter=8, n_iter_no_change=8,
                               random_state=0), *digits)
    ax = plot_learning_curves(model)
    assert _labels(ax) == ["training loss", "validation loss"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), model.loss_curve_)
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), model.validation_loss_curve_)
    assert list(ax.get_lines()[0].get_xdata()) == list(range(1, model.n_iter_ + 1))
    assert _labels(ax.score_ax) == ["validation accuracy"]
    np.testing.assert_allclose(ax.score_ax.get_lines()[0].get_ydata(), model.validation_scores_)
    plt.close("all")


def test_plot_learning_curves_without_validation_draws_only_the_training_loss(digits):
    fig, ax = plt.subplots()
    model = _fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0), *digits)
    assert plot_learning_curves(model, ax=ax) is ax
    assert _labels(ax) == ["training loss"]
    assert ax.score_ax is None
    plt.close(fig)


def test_plot_learning_curves_accepts_pipelines_and_sklearn_mlps(digits):
    pipe = _fit(make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), max_iter=4, random_state=0)),
                *digits)
    assert _labels(plot_learning_curves(pipe)) == ["training loss"]
    sk = _fit(SklearnMLPClassifier(hidden_layer_sizes=(8,), early_stopping=True, max_iter=4, random_state=0), *digits)
    ax = plot_learning_curves(sk)  # no validation_loss_curve_ in scikit-learn
    assert _labels(ax) == ["training loss"] and _labels(ax.score_ax) == ["validation accuracy"]
    plt.close("all")


def test_plot_learning_curves_regressor_labels_r2():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    model = _fit(MLPRegressor(hidden_layer_sizes=(8,), early_stopping=True, max_iter=5, random_state=0), X, y)
    assert _labels(plot_learning_curves(model).score_ax) == ["validation R^2"]
    plt.close("all")


def test_plot_learning_curves_unfitted_or_lbfgs_raise_valueerror(digits):
    with pytest.raises(ValueError, match="fit it first"):
        plot_learning_curves(MLPClassifier())
    model = _fit(MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5), *digits)
    if getattr(model, "loss_curve_", None) is None:
        with pytest.raises(ValueError, match="lbfgs"):
            plot_learning_curves(model)


def test_plot_learning_curves_without_matplotlib_names_the_examples_extra(monkeypatch, digits):
    model = _fit(MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0), *digits)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"fastnn\[examples\]"):
        plot_learning_curves(model)


def test_save_figure_writes_a_palette_png_smaller_than_matplotlibs(tmp_path):
    from PIL import Image

    fig, ax = plt.subplots(figsize=(4, 3))
    xx, yy = np.meshgrid(np.linspace(-1, 1, 200), np.linspace(-1, 1, 200))
    ax.contourf(xx, yy, np.sin(3 * xx) * np.cos(3 * yy), levels=20, cmap="RdBu")
    small = save_figure(fig, str(tmp_path / "sub" / "small.png"))
    full = save_figure(fig, str(tmp_path / "full.png"), max_colors=None)
    plt.close(fig)
    with Image.open(small) as image:
        assert image.mode == "P" and image.size == (320, 240)  # 4 x 3 inches at dpi 80
    assert 0 < (tmp_path / "sub" / "small.png").stat().st_size < (tmp_path / "full.png").stat().st_size
    assert full.endswith("full.png")
