"""Early stopping on any scorer, with a validation set of your own: ``scoring`` and
``fit(..., X_val=, y_val=, sample_weight_val=)``. Every best score is checked against scikit-learn's scorer applied
to the restored model, so the scale, the restore and the validation set are tested at once. float64 and tiny data."""
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, log_loss, make_scorer, mean_absolute_error

from fastnn import CNNClassifier, MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, y = make_classification(n_samples=120, n_features=5, n_informative=4, n_redundant=0, n_classes=3,
                           random_state=0)
X_tr, y_tr, X_val, y_val = X[:80], y[:80], X[80:], y[80:]
W_val = np.linspace(0.2, 2.0, len(y_val))
ES = dict(early_stopping=True, max_iter=40, n_iter_no_change=5, learning_rate_init=0.02, random_state=0,
          dtype=np.float64)


def clf(**params):
    return MLPClassifier((6,), **{**ES, **params})


@pytest.fixture(scope="module")
def neg_log_loss_fit():
    return clf(scoring="neg_log_loss").fit(X_tr, y_tr, X_val=X_val, y_val=y_val)


def test_neg_log_loss_with_x_val_restores_the_model_with_the_best_score(neg_log_loss_fit):
    model = neg_log_loss_fit
    assert len(model.validation_scores_) == model.n_iter_ and max(model.validation_scores_) == model.best_validation_score_
    assert model.best_validation_score_ == pytest.approx(get_scorer("neg_log_loss")(model, X_val, y_val), rel=1e-12)
    assert model.best_validation_score_ < 0  # the scorer's scale: minus the log loss
    assert model.best_validation_score_ != model.validation_scores_[-1]  # the restore is not a no-op here


def test_x_val_replaces_validation_fraction(neg_log_loss_fit):
    """Trained on all of X_tr (no split): the same fit with validation_fraction=0.5 differs."""
    assert neg_log_loss_fit.t_ == neg_log_loss_fit.n_iter_ * len(X_tr)
    split = clf(scoring="neg_log_loss", validation_fraction=0.5).fit(X_tr, y_tr)
    assert split.t_ == split.n_iter_ * len(X_tr) // 2


def test_scoring_none_is_accuracy_on_x_val():
    model = clf().fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    assert model.best_validation_score_ == model.score(X_val, y_val)


def test_scoring_loss_is_minus_the_validation_loss():
    model = clf(scoring="loss").fit(X_tr, y_tr, X_val=X_val, y_val=y_val, sample_weight_val=W_val)
    np.testing.assert_allclose(model.validation_scores_, -np.asarray(model.validation_loss_curve_), rtol=0)
    expected = -log_loss(y_val, model.predict_proba(X_val), sample_weight=W_val)
    assert model.best_validation_score_ == pytest.approx(expected, rel=1e-10)


def test_sample_weight_val_reaches_the_scorer():
    model = clf(scoring="balanced_accuracy").fit(X_tr, y_tr, X_val=X_val, y_val=y_val, sample_weight_val=W_val)
    scorer = get_scorer("balanced_accuracy")
    assert model.best_validation_score_ == scorer(model, X_val, y_val, sample_weight=W_val)


def test_callable_scorer_and_string_labels_on_the_split():
    labels = np.array(["ant", "bee", "cat"])[y]
    scorer = make_scorer(lambda t, p: np.mean(t == p) - 1.0)  # accuracy shifted: proves the callable is used
    model = clf(scoring=scorer).fit(X, labels)
    assert model.best_validation_score_ <= 0 and model.validation_scores_[0] <= 0
    reference = clf().fit(X, labels)  # same split (same random_state): accuracy is 1 more
    np.testing.assert_allclose(np.asarray(model.validation_scores_) + 1.0,
                               reference.validation_scores_[: len(model.validation_scores_)])


def test_regressor_on_a_scorer_with_x_val():
    Xr, yr = make_regression(n_samples=100, n_features=4, noise=5.0, random_state=0)
    yr = yr / yr.std()
    model = MLPRegressor(hidden_layer_sizes=(6,), scoring="neg_mean_absolute_error", **ES).fit(Xr[:70], yr[:70], X_val=Xr[70:],
                                                                             y_val=yr[70:])
    assert model.best_validation_score_ == pytest.approx(-mean_absolute_error(yr[70:], model.predict(Xr[70:])),
                                                         rel=1e-12)


def test_cnn_takes_images_as_x_val():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((50, 1, 4, 4))
    labels = (images[:, 0, :2].sum(axis=(1, 2)) > 0).astype(int)
    model = CNNClassifier(conv_layers=((2, 3),), scoring="neg_log_loss", **{**ES, "max_iter": 8})
    model.fit(images[:35], labels[:35], X_val=images[35:], y_val=labels[35:])
    assert model.best_validation_score_ == pytest.approx(get_scorer("neg_log_loss")(model, images[35:], labels[35:]),
                                                         rel=1e-12)


def test_dataframes_with_a_scorer_do_not_warn_about_feature_names():
    cols = [f"f{i}" for i in range(X.shape[1])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = clf(scoring="accuracy", max_iter=5).fit(pd.DataFrame(X_tr, columns=cols), y_tr,
                                                        X_val=pd.DataFrame(X_val, columns=cols), y_val=y_val)
    assert model.best_validation_score_ == model.score(pd.DataFrame(X_val, columns=cols), y_val)


def test_in_a_pipeline_x_val_is_transformed_like_x():
    """Metadata routing with ``Pipeline(transform_input=['X_val'])``: the scaler fitted on X transforms X_val."""
    import sklearn
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    with sklearn.config_context(enable_metadata_routing=True):
        model = clf(scoring="neg_log_loss", max_iter=10).set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline([("scale", StandardScaler()), ("mlp", model)], transform_input=["X_val"])
        pipe.fit(100 * X_tr + 5, y_tr, X_val=100 * X_val + 5, y_val=y_val)
    assert model.best_validation_score_ == pytest.approx(
        get_scorer("neg_log_loss")(pipe, 100 * X_val + 5, y_val), rel=1e-12)


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "params, kwargs, match",
    [
        ({}, dict(X_val=X_val), "X_val is given but y_val is not"),
        ({}, dict(y_val=y_val), "y_val is given but X_val is not"),
        ({}, dict(sample_weight_val=W_val), "sample_weight_val is given without X_val"),
        ({}, dict(X_val=X_val[:, :3], y_val=y_val), "X_val cannot serve as the validation set: X has 3 features"),
        ({"early_stopping": False}, dict(X_val=X_val, y_val=y_val), "early_stopping=False"),
        ({}, dict(X_val=np.where(X_val > 1.5, np.nan, X_val), y_val=y_val), "X_val cannot serve.*NaN"),
        ({"solver": "lbfgs"}, dict(X_val=X_val, y_val=y_val), "solver='lbfgs' does no early stopping"),
        ({}, dict(X_val=X_val, y_val=y_val + 7), r"y_val has labels not seen in y: \[7, 8, 9\]"),
        ({}, dict(X_val=X_val, y_val=y_val[:-1]), "inconsistent numbers of samples"),
        ({"scoring": "no_such_metric"}, dict(X_val=X_val, y_val=y_val), "no_such_metric"),
    ],
)
def test_bad_validation_sets_raise_a_clear_value_error(params, kwargs, match):
    model = clf(**params)
    with pytest.raises(ValueError, match=match):
        model.fit(X_tr, y_tr, **kwargs)
    assert not hasattr(model, "coefs_")


def test_partial_fit_takes_no_validation_set():
    model = MLPClassifier((4,), random_state=0)
    with pytest.raises(TypeError):
        model.partial_fit(X_tr, y_tr, classes=np.unique(y), X_val=X_val, y_val=y_val)
