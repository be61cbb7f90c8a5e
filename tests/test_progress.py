"""progress_bar=True draws a tqdm bar over epochs; verbose keeps scikit-learn's lines; tqdm stays optional."""
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from fastnn import MLPClassifier, MLPRegressor

X = np.random.default_rng(0).standard_normal((60, 4))
y = (X[:, 0] > 0).astype(int)


def fit_quietly(est, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args)


def test_progress_bar_counts_epochs_and_shows_loss_and_validation(capsys):
    clf = fit_quietly(MLPClassifier((5,), max_iter=7, early_stopping=True, n_iter_no_change=100,
                                    progress_bar=True, random_state=0), X, y)
    err = capsys.readouterr().err
    assert "MLPClassifier" in err and "7/7" in err and "epoch" in err
    assert f"loss={clf.loss_:.4g}" in err and f"val={clf.validation_scores_[-1]:.4f}" in err


def test_verbose_lines_are_kept_with_a_bar(capsys):
    reg = fit_quietly(MLPRegressor(hidden_layer_sizes=(5,), max_iter=3, verbose=True, progress_bar=True,
                                   random_state=0), X, X[:, 1])
    captured = capsys.readouterr()
    for i, loss in enumerate(reg.loss_curve_, start=1):
        assert f"Iteration {i}, loss = {loss:.8f}" in captured.out
    assert "3/3" in captured.err


def test_no_bar_by_default_and_none_left_on_the_estimator(capsys):
    clf = fit_quietly(MLPClassifier((5,), max_iter=3, random_state=0), X, y)
    assert capsys.readouterr().err == ""
    assert "_progress" not in vars(clf)


def test_missing_tqdm_gives_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # makes `from tqdm.auto import tqdm` fail
    with pytest.raises(ImportError, match="progress_bar=True needs tqdm"):
        MLPClassifier((5,), max_iter=2, progress_bar=True).fit(X, y)
    fit_quietly(MLPClassifier((5,), max_iter=2), X, y)  # without the bar tqdm is never imported
