"""``summary()`` on fitted estimators and on ``Sequential``: parameter counts add up to ``flat_params.size`` (and
per layer to its arrays), output shapes are what the layers emit, the fused-path line, the text and HTML forms, and
the estimators' own scikit-learn HTML diagram left as it was."""
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError

from fastnn import CNNClassifier, MLPClassifier, MLPRegressor, NeuralNetRegressor, Sequential
from fastnn.layers import BatchNorm, Conv2D, Dense, Flatten, ReLU, Tanh
from fastnn.losses import SquaredError

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, y = load_iris(return_X_y=True)
IMAGES = np.random.default_rng(0).standard_normal((24, 1, 6, 6))
IMAGE_LABELS = (IMAGES[:, 0, 0, 0] > 0).astype(int)


def fitted(name):
    if name == "mlp":
        return MLPClassifier((6, 4), max_iter=5, random_state=0).fit(X, y), X
    if name == "mlp_regressor_float64":
        return MLPRegressor(hidden_layer_sizes=(3,), dtype="float64", max_iter=5, random_state=0).fit(X, X[:, 0]), X
    if name == "neuralnet_batchnorm":
        est = NeuralNetRegressor([Dense(5), BatchNorm(), Tanh()], max_iter=5, random_state=0)
        return est.fit(X, X[:, :2]), X
    return CNNClassifier(conv_layers=((2, 3),), hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(
        IMAGES, IMAGE_LABELS), IMAGES


NAMES = ["mlp", "mlp_regressor_float64", "neuralnet_batchnorm", "cnn"]


@pytest.mark.parametrize("name", NAMES)
def test_counts_add_up_to_the_flat_parameter_vector(name):
    est, data = fitted(name)
    net = est.network_
    table = est.summary()
    assert table.total_params == net.flat_params.size == sum(r["params"] for r in table.rows)
    assert table.total_params == sum(c.size + b.size for c, b in zip(est.coefs_, est.intercepts_))
    assert table.state_size == net.flat_state.size == sum(s.size for s in getattr(est, "layer_state_", []))
    assert [r["params"] for r in table.rows] == [sum(p.size for p in layer.params) for layer in net.layers]
    assert {r["dtype"] for r in table.rows} == {table.dtype} == {np.dtype(est.dtype).name}
    assert f"Total parameters: {net.flat_params.size:,}" in str(table)


@pytest.mark.parametrize("name", NAMES)
def test_output_shapes_are_what_each_layer_emits(name):
    est, data = fitted(name)
    table = est.summary()
    for row in table.rows:
        width = est.set_params(transform_layer=row["index"]).transform(data[:3]).shape[1]
        assert width == int(np.prod(row["output_shape"])), row
    assert table.rows[-1]["output_shape"] == (est.n_outputs_,)


def test_text_table_marks_the_transform_layer_and_the_fused_path():
    est, _ = fitted("mlp")
    text = str(est.summary())
    lines = text.splitlines()
    assert lines[0].startswith("MLPClassifier: input (4,), 3 output(s) (softmax)")
    assert [line.split()[1] for line in lines[3:8]] == ["Dense(6)", "ReLU()", "Dense(4)", "ReLU()", "Dense(3)"]
    assert lines[6].endswith("<- transform") and sum("<- transform" in line for line in lines) == 1
    assert est.summary().fused and "Fused path: eligible (fused='auto'" in text
    assert "<- transform" in est.set_params(transform_layer=0).summary().__str__().splitlines()[3]
    off = MLPClassifier((3,), fused=False, max_iter=2, random_state=0).fit(X, y).summary()
    assert off.fused and "off (fused=False)" in off.fused_note


@pytest.mark.parametrize("name, reason", [("cnn", "layer 0 (Conv2D"), ("neuralnet_batchnorm", "layer 1 (BatchNorm")])
def test_stacks_that_do_not_fuse_say_which_layer(name, reason):
    est, _ = fitted(name)
    table = est.summary()
    assert not table.fused and table.fused_note.startswith("no: " + reason)


def test_html_is_a_table_and_the_estimator_diagram_is_unchanged():
    est, _ = fitted("mlp")
    diagram = est._repr_html_()
    page = est.summary()._repr_html_()
    assert page.count("<tr>") == 1 + len(est.summary().rows) and "Dense(6)" in page and "&#x27;adam&#x27;" in page
    # scikit-learn's own estimator diagram, without the layer table
    assert "sk-estimator" in diagram and "MLPClassifier(hidden_layer_sizes=(6, 4)" in diagram
    assert "Total parameters" not in diagram


def test_sequential_summary_and_its_errors():
    net = Sequential([Conv2D(2, 3, padding=1), ReLU(), Flatten(), Dense(3)], SquaredError())
    with pytest.raises(ValueError, match="needs a built network"):
        net.summary()
    net.build((1, 5, 5), np.float64, 0)
    table = net.summary()
    assert table.total_params == net.flat_params.size == 2 * 9 + 2 + 50 * 3 + 3
    assert [r["output_shape"] for r in table.rows] == [(2, 5, 5), (2, 5, 5), (50,), (3,)]
    assert str(table).splitlines()[0] == "Sequential: input (1, 5, 5), loss SquaredError"
    with pytest.raises(NotFittedError):
        MLPClassifier().summary()
