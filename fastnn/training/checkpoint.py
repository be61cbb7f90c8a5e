"""``Checkpoint``: write the model to disk during a fit, atomically, so a killed process leaves the last complete
checkpoint loadable.

When. ``every=k`` writes ``path`` each time the model has trained a multiple of ``k`` epochs (``len(loss_curve_)``
counts them across ``partial_fit`` calls and warm-started fits; L-BFGS iterations count for L-BFGS) and at the end of
every ``fit`` / ``partial_fit`` call; ``best_path`` is written whenever the epoch improved the best validation score
(early stopping) or, without a validation set, the best training loss (mini-batch solvers).

How. The model is serialised into a temporary file in the destination's folder, flushed and ``fsync``-ed, then
renamed over the destination with ``os.replace`` (atomic on POSIX and Windows), and the folder is ``fsync``-ed: a
reader, or a process restarted after a crash, sees either the previous complete file or the new one, never a torn
one. A kill during a write leaves a ``.<name>.*.tmp`` file beside it, which can be deleted. ``*.skops`` paths are
written with ``skops.io`` (load them with ``load_checkpoint`` or ``skops.io.load``), any other with ``joblib``.

What. The estimator as it stands after that epoch, with the same state a pickle keeps (weights, optimizer moments,
step count, learning rate, dropout generators), without its callbacks. So a run of ``partial_fit`` calls, or of
warm-started ``fit`` calls, resumed from the checkpoint written at the end of a call continues bit-identically to the
run that was never interrupted. A checkpoint written in the middle of one ``fit`` is the model at that epoch (for
prediction, or a warm start), not a resumable fit: ``fit`` restarts its optimizer and its shuffling stream.

Wiring. With scikit-learn >= 1.9, ``estimator.set_callbacks(Checkpoint(...))``: a ``sklearn.callback`` callback on
the fit's root task and its epoch subtasks. On any scikit-learn, ``Checkpoint(...).attach(estimator)``: an epoch
listener (``fastnn.training.events``) the estimator calls in every fit until ``detach``; it is neither cloned nor
pickled with the estimator.
"""
import contextlib
import copy
import os
import tempfile
from pathlib import Path

from .callbacks import CALLBACK_ATTRS, reconstruction_attributes
from .events import ATTACHED

_EPOCH_TASKS = ("epoch", "lbfgs-iter")


def atomic_write(path, write):
    """Create or replace ``path`` with what ``write(file)`` writes into a binary file object, atomically."""
    path = Path(path)
    folder = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "posix":  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _is_skops(path):
    return Path(path).suffix == ".skops"


def save_model(est, path):
    """Write ``est`` to ``path`` atomically (skops for ``*.skops``, joblib otherwise)."""
    if _is_skops(path):
        import skops.io

        atomic_write(path, lambda f: skops.io.dump(est, f))
    else:
        import joblib

        atomic_write(path, lambda f: joblib.dump(est, f))


def load_checkpoint(path):
    """The model a ``Checkpoint`` wrote. A ``*.skops`` file is loaded trusting fastnn's own types only (any other
    type it holds raises ``skops.io.exceptions.UntrustedTypesFoundException``); any other file with ``joblib.load``,
    which, like pickle, runs code from the file: load only files you trust.

    Parameters
    ----------
    path : str or Path
        The file a ``Checkpoint`` wrote.

    Returns
    -------
    estimator : estimator
        The model as it was written, ready to predict or to continue with ``partial_fit``.

    Examples
    --------
    >>> import os, tempfile
    >>> import joblib
    >>> from fastnn import load_checkpoint
    >>> path = os.path.join(tempfile.mkdtemp(), "model.joblib")
    >>> _ = joblib.dump({"any": "object"}, path)
    >>> load_checkpoint(path)
    {'any': 'object'}
    """
    if _is_skops(path):
        import skops.io

        untrusted = skops.io.get_untrusted_types(file=path)
        return skops.io.load(path, trusted=[t for t in untrusted if t.startswith("fastnn.")])
    import joblib

    return joblib.load(path)


def _without_callbacks(model):
    for attr in CALLBACK_ATTRS + (ATTACHED,):
        model.__dict__.pop(attr, None)
    return model


def _epochs_trained(est):
    curve = getattr(est, "loss_curve_", None)
    return len(curve) if isinstance(curve, list) else int(getattr(est, "n_iter_", 0))


def _improved(est):
    """Whether the epoch just ended set a new best validation score (or, without one, a new best training loss)."""
    scores = getattr(est, "validation_scores_", None)
    if isinstance(scores, list) and scores:
        return len(scores) == 1 or scores[-1] > max(scores[:-1])
    curve = getattr(est, "loss_curve_", None)
    if isinstance(curve, list) and curve:
        return len(curve) == 1 or curve[-1] < min(curve[:-1])
    return False


class Checkpoint:
    """Write the model to ``path`` every ``every`` epochs and at the end of each fit, and/or to ``best_path``
    when an epoch improves the best score; see the module docstring for when, how and what.

    Parameters
    ----------
    path : str or Path or None
        The periodic checkpoint (``*.skops``: skops, else joblib). None: no periodic checkpoint.
    every : int >= 1, default=1
        Epochs between periodic checkpoints.
    best_path : str or Path or None, default=None
        Where to keep the best model so far.

    Attributes
    ----------
    n_writes : int
        Number of files written so far.

    See Also
    --------
    load_checkpoint : Load the model a ``Checkpoint`` wrote.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_iris
    >>> from fastnn import Checkpoint, MLPClassifier, load_checkpoint
    >>> X, y = load_iris(return_X_y=True)
    >>> path = os.path.join(tempfile.mkdtemp(), "run.joblib")
    >>> clf = Checkpoint(path, every=2).attach(MLPClassifier(max_iter=4, random_state=0))
    >>> clf = clf.fit(X, y)  # doctest: +SKIP
    >>> load_checkpoint(path).n_iter_  # doctest: +SKIP
    4
    """

    def __init__(self, path, *, every=1, best_path=None):
        if path is None and best_path is None:
            raise ValueError("Checkpoint needs a path, a best_path or both; e.g. Checkpoint('model.skops').")
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"every must be an integer >= 1 (epochs between checkpoints), got {every!r}.")
        for name, value in (("path", path), ("best_path", best_path)):
            if value is not None and not Path(value).parent.is_dir():
                raise ValueError(f"{name}={str(value)!r}: the folder {str(Path(value).parent)!r} does not exist.")
        self.path, self.every, self.best_path = path, every, best_path
        self.n_writes = 0
        self._last = None  # (estimator id, epochs) of the last periodic write

    # ------------------------------------------------------------------ the decisions
    def _epoch_end(self, est, model):
        """``model()`` builds the copy to write (only when something is written)."""
        epochs = _epochs_trained(est)
        built = None
        if self.path is not None and epochs % self.every == 0:
            built = model()
            self._write(built, self.path)
            self._last = (id(est), epochs)
        if self.best_path is not None and _improved(est):
            self._write(built if built is not None else model(), self.best_path)

    def _fit_end(self, est, model):
        if self.path is None:
            return
        same = self._last == (id(est), _epochs_trained(est))
        if same and getattr(est, "solver", None) != "lbfgs" and not getattr(est, "early_stopping", False):
            return  # the last epoch's checkpoint is already the fitted model
        self._write(model(), self.path)
        self._last = (id(est), _epochs_trained(est))

    def _write(self, model, path):
        save_model(_without_callbacks(model), path)
        self.n_writes += 1

    # ------------------------------------------------------------------ sklearn.callback hooks
    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if fitted_estimator is None:
            return False
        if context.task_name in _EPOCH_TASKS:
            self._epoch_end(estimator, lambda: fitted_estimator)
        elif context.task_name in ("fit", "partial_fit"):
            self._fit_end(estimator, lambda: fitted_estimator)
        return False

    # ------------------------------------------------------------------ epoch listener (any scikit-learn)
    def attach(self, estimator):
        """Call this checkpoint in every fit of ``estimator`` (without ``set_callbacks``); returns ``estimator``."""
        listeners = estimator.__dict__.setdefault(ATTACHED, [])
        if self not in listeners:
            listeners.append(self)
        return estimator

    def detach(self, estimator):
        listeners = estimator.__dict__.get(ATTACHED, [])
        if self in listeners:
            listeners.remove(self)
        return estimator

    def epoch_begin(self, est, flat):
        pass

    def epoch_end(self, est, flat):
        def model():
            copied = copy.copy(est)
            for key, value in reconstruction_attributes(est, flat).items():
                setattr(copied, key, value)
            return copied

        self._epoch_end(est, model)
        return False

    def fit_end(self, est):
        self._fit_end(est, lambda: copy.copy(est))

    def close(self):
        pass

    def __repr__(self):
        return f"Checkpoint({str(self.path)!r}, every={self.every}, best_path={self.best_path!r})"
