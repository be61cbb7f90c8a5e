"""Plotting helpers for fitted estimators. matplotlib is optional: it is imported only when a function runs.

Install it with the ``examples`` extra: ``pip install "fastnn[examples]"`` (or ``pip install matplotlib``).
"""

from sklearn.base import is_regressor

__all__ = ["plot_learning_curves", "save_figure"]


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised by monkeypatching in the tests
        raise ImportError(
            "fastnn.plotting needs matplotlib, which is not installed. Install the 'examples' extra "
            "(pip install \"fastnn[examples]\") or matplotlib itself (pip install matplotlib)."
        ) from exc
    return plt


def _final_estimator(estimator):
    # A Pipeline (or anything with .steps) is plotted through its last step, the network.
    steps = getattr(estimator, "steps", None)
    if steps:
        return steps[-1][1]
    return estimator


def plot_learning_curves(estimator, ax=None):
    """Plot the training curves a fitted ``MLPClassifier`` / ``MLPRegressor`` (or a Pipeline ending in one) kept.

    Draws, per epoch (x axis, starting at 1):

    - ``loss_curve_``: training loss (data term plus the L2 penalty, as scikit-learn reports it), solid line;
    - ``validation_loss_curve_``: validation loss (fastnn only, with ``early_stopping=True``), dashed line;
    - ``validation_scores_``: validation accuracy / R^2 (with ``early_stopping=True``), on a second y axis.

    Works for scikit-learn's own MLPs too (they have no ``validation_loss_curve_``).

    Parameters
    ----------
    estimator : fitted estimator with ``loss_curve_``
        Fitted with a stochastic solver (``'lbfgs'`` records no per-epoch curve).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when omitted.

    Returns
    -------
    ax : matplotlib Axes
        The loss axes; the score axes (when drawn) is ``ax.score_ax``, else ``ax.score_ax`` is None.

    Raises
    ------
    ValueError
        If the estimator has no ``loss_curve_`` (not fitted, or fitted with ``'lbfgs'``).
    ImportError
        If matplotlib is not installed.

    See Also
    --------
    save_figure : Saves the figure as a small PNG.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from fastnn import MLPClassifier
    >>> from fastnn.plotting import plot_learning_curves
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((32,), early_stopping=True, learning_rate_init=0.01, random_state=0).fit(X / 16, y)
    >>> ax = plot_learning_curves(clf)
    >>> [line.get_label() for line in ax.get_lines()], ax.score_ax.get_ylabel()
    (['training loss', 'validation loss'], 'score')
    >>> plt.close(ax.figure)
    """
    est = _final_estimator(estimator)
    loss_curve = getattr(est, "loss_curve_", None)
    if loss_curve is None:
        solver = getattr(est, "solver", None)
        if solver == "lbfgs":
            raise ValueError(
                "This estimator was fitted with solver='lbfgs', which records no per-epoch loss_curve_. "
                "Fit with a stochastic solver ('adam', 'sgd', ...) to plot learning curves."
            )
        raise ValueError(
            f"{type(est).__name__} has no loss_curve_: fit it first (with a stochastic solver) before plotting."
        )
    plt = _import_pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))

    epochs = range(1, len(loss_curve) + 1)
    lines = ax.plot(epochs, loss_curve, color="C0", label="training loss")
    val_loss = getattr(est, "validation_loss_curve_", None)
    if val_loss:
        lines += ax.plot(range(1, len(val_loss) + 1), val_loss, color="C0", linestyle="--", label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")

    scores = getattr(est, "validation_scores_", None)
    ax.score_ax = None
    if scores:
        score_ax = ax.twinx()
        name = "validation R^2" if is_regressor(est) else "validation accuracy"
        lines += score_ax.plot(range(1, len(scores) + 1), scores, color="C1", label=name)
        score_ax.set_ylabel("score")
        ax.score_ax = score_ax
    ax.legend(lines, [line.get_label() for line in lines], loc="center right", fontsize="small")
    ax.set_title(type(est).__name__)
    return ax


def save_figure(fig, path, dpi=80, max_colors=64):
    """Save ``fig`` as a compact PNG for documentation: rendered at ``dpi``, then reduced to a palette of
    ``max_colors`` colours (lossless-looking for plots, typically 3-5x smaller than matplotlib's RGBA PNG).

    Creates the parent folder if needed and closes nothing (the figure stays open).

    Parameters
    ----------
    fig : matplotlib Figure
        The figure to save.
    path : str or path-like
        The PNG file to write.
    dpi : int, default=80
        Resolution: the image is ``figsize * dpi`` pixels.
    max_colors : int or None, default=64
        Size of the palette (at most 256), chosen by median cut on a white background; None saves matplotlib's
        own full-colour PNG.

    Returns
    -------
    path : str or path-like
        ``path``, as given.

    See Also
    --------
    plot_learning_curves : Draws the curves of a fitted estimator.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> import matplotlib.pyplot as plt
    >>> from PIL import Image
    >>> from fastnn.plotting import save_figure
    >>> fig, ax = plt.subplots(figsize=(2, 1.5))
    >>> _ = ax.plot([0, 1], [0, 1])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save_figure(fig, os.path.join(folder, "figures", "line.png"))
    ...     with Image.open(path) as image:
    ...         mode, size = image.mode, image.size
    >>> mode, size
    ('P', (160, 120))
    >>> plt.close(fig)
    """
    import io
    import os

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if max_colors is None:
        fig.savefig(path, dpi=dpi)
        return path
    from PIL import Image  # a dependency of matplotlib

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    buf.seek(0)
    with Image.open(buf) as image:
        image.convert("RGB").quantize(max_colors, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path
