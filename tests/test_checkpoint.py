"""``Checkpoint``: when it writes (every k epochs, fit ends, best scores), that writes are atomic (a failing or killed
write leaves the previous file whole: SIGKILL of a subprocess mid-write and at random moments), and that a run of
``partial_fit`` or warm-started ``fit`` calls resumed from a checkpoint continues bit-identically to the run that was
never interrupted. Both wirings: ``set_callbacks`` (scikit-learn >= 1.9) and ``attach`` (any scikit-learn)."""
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import fastnn.training.callbacks
from fastnn import Checkpoint, MLPClassifier, MLPRegressor, load_checkpoint
from fastnn.training.checkpoint import atomic_write

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X, y = load_digits(return_X_y=True)
X, y = X[:300] / 16.0, y[:300]
HAS_SKLEARN_CALLBACK = fastnn.training.callbacks.sklearn_callback_module() is not None
WIRINGS = ["attach", pytest.param("set_callbacks", marks=pytest.mark.skipif(
    not HAS_SKLEARN_CALLBACK, reason="sklearn.callback needs scikit-learn >= 1.9"))]


def wire(est, checkpoint, how):
    return checkpoint.attach(est) if how == "attach" else est.set_callbacks(checkpoint)


def weights(est):
    return [a.tobytes() for a in est.coefs_ + est.intercepts_]


def model(**extra):
    return MLPClassifier((16,), dropout=0.1, random_state=0, **extra)  # dropout: its generator state must resume too


# ---------------------------------------------------------------------------------------------- when
@pytest.mark.parametrize("how", WIRINGS)
def test_every_k_epochs_and_at_the_end_of_the_fit(tmp_path, how):
    path = tmp_path / "model.skops"
    checkpoint = Checkpoint(path, every=3)
    est = wire(model(max_iter=7), checkpoint, how).fit(X, y)
    assert checkpoint.n_writes == 3  # epochs 3 and 6, then the fitted model after epoch 7
    loaded = load_checkpoint(path)
    assert weights(loaded) == weights(est) and loaded.loss_curve_ == est.loss_curve_
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert not {"_skl_callbacks", "_attached_epoch_listeners"} & set(vars(loaded))
    assert sorted(os.listdir(tmp_path)) == ["model.skops"]  # no temporary file left behind


@pytest.mark.parametrize("how", WIRINGS)
def test_a_fit_ending_on_a_checkpointed_epoch_is_written_once(tmp_path, how):
    checkpoint = Checkpoint(tmp_path / "model.joblib", every=2)
    wire(model(max_iter=4), checkpoint, how).fit(X, y)
    assert checkpoint.n_writes == 2


@pytest.mark.parametrize("how", WIRINGS)
def test_best_path_keeps_the_best_validation_epoch(tmp_path, how):
    checkpoint = Checkpoint(None, best_path=tmp_path / "best.joblib")
    est = wire(MLPClassifier((8,), early_stopping=True, scoring="loss", n_iter_no_change=3, max_iter=200,
                             learning_rate_init=0.05, random_state=0), checkpoint, how).fit(X, y)
    scores = est.validation_scores_
    improvements = sum(1 for i, s in enumerate(scores) if i == 0 or s > max(scores[:i]))
    assert checkpoint.n_writes == improvements and est.n_iter_ > improvements  # it stopped after a plateau
    best = load_checkpoint(tmp_path / "best.joblib")
    np.testing.assert_array_equal(best.predict_proba(X), est.predict_proba(X))  # fit restored the same best epoch
    assert best.validation_scores_[-1] == est.best_validation_score_


def test_lbfgs_writes_its_iterations_and_final_model(tmp_path):
    checkpoint = Checkpoint(tmp_path / "model.joblib", every=5)
    est = checkpoint.attach(MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=12, random_state=0))
    est.fit(X, y.astype(float))
    assert checkpoint.n_writes == 12 // 5 + 1
    np.testing.assert_array_equal(load_checkpoint(tmp_path / "model.joblib").predict(X), est.predict(X))


def test_detach_and_bad_arguments(tmp_path):
    checkpoint = Checkpoint(tmp_path / "m.joblib")
    est = checkpoint.detach(checkpoint.attach(model(max_iter=1))).fit(X, y)
    assert checkpoint.n_writes == 0 and est.n_iter_ == 1
    with pytest.raises(ValueError, match="needs a path, a best_path or both"):
        Checkpoint(None)
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        Checkpoint(tmp_path / "m.joblib", every=0)
    with pytest.raises(ValueError, match="does not exist"):
        Checkpoint(tmp_path / "missing" / "m.joblib")


# ---------------------------------------------------------------------------------------------- atomic
def test_a_failing_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "file.bin"
    atomic_write(path, lambda f: f.write(b"complete"))

    def half_then_fail(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, half_then_fail)
    assert path.read_bytes() == b"complete" and os.listdir(tmp_path) == ["file.bin"]


TRAINER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from sklearn.datasets import load_digits
    from fastnn import Checkpoint, MLPClassifier
    mode, path = sys.argv[1], sys.argv[2]
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16.0, y[:300]
    est = Checkpoint(path).attach(MLPClassifier((16,), dropout=0.1, random_state=0))
    if mode == "hang_in_third_write":
        import joblib
        real_dump, calls = joblib.dump, []

        def dump(obj, f):  # the third write stops half way through its file, as if the process died there
            calls.append(1)
            if len(calls) < 3:
                return real_dump(obj, f)
            real_dump(obj, f)
            f.seek(f.tell() // 2)
            f.truncate()
            f.flush()
            open(path + ".hanging", "w").close()
            time.sleep(600)

        joblib.dump = dump
    for epoch in range(100000):
        est.partial_fit(X, y, classes=np.arange(10))
        if epoch == 0:
            open(path + ".started", "w").close()
""")


def _start_trainer(tmp_path, mode, path):
    script = tmp_path / "trainer.py"
    script.write_text(TRAINER)
    return subprocess.Popen([sys.executable, str(script), mode, str(path)], cwd=tmp_path)


def _wait_for(marker, proc, timeout=180):
    deadline = time.monotonic() + timeout
    while not os.path.exists(marker):
        assert proc.poll() is None, f"the trainer exited with {proc.returncode}"
        assert time.monotonic() < deadline, f"no {marker} after {timeout} s"
        time.sleep(0.05)


def _kill(proc):
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _uninterrupted(n_calls):
    est = model()
    for _ in range(n_calls):
        est.partial_fit(X, y, classes=np.arange(10))
    return est


def test_sigkill_in_the_middle_of_a_write_leaves_the_last_complete_checkpoint(tmp_path):
    path = tmp_path / "model.joblib"
    proc = _start_trainer(tmp_path, "hang_in_third_write", path)
    try:
        _wait_for(str(path) + ".hanging", proc)
    finally:
        _kill(proc)
    leftovers = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    assert len(leftovers) == 1 and leftovers[0].startswith(".model.joblib.")  # the torn write, never renamed
    loaded = load_checkpoint(path)
    assert len(loaded.loss_curve_) == 2  # the second partial_fit's checkpoint, whole
    assert weights(loaded) == weights(_uninterrupted(2))


def test_sigkill_at_a_random_moment_then_resume_is_bit_identical(tmp_path):
    path = tmp_path / "model.joblib"
    proc = _start_trainer(tmp_path, "run", path)
    try:
        _wait_for(str(path) + ".started", proc)
        time.sleep(np.random.default_rng().uniform(0.2, 1.5))  # while epochs and writes go on
    finally:
        _kill(proc)
    resumed = load_checkpoint(path)
    done = len(resumed.loss_curve_)
    assert done >= 1
    for _ in range(2):
        resumed.partial_fit(X, y)
    reference = _uninterrupted(done + 2)
    assert weights(resumed) == weights(reference) and resumed.loss_curve_ == reference.loss_curve_


# ---------------------------------------------------------------------------------------------- resume
@pytest.mark.parametrize("suffix", [".skops", ".joblib"])
@pytest.mark.parametrize("how", WIRINGS)
def test_partial_fit_resumed_from_a_checkpoint_is_bit_identical(tmp_path, how, suffix):
    path = tmp_path / f"model{suffix}"
    interrupted = wire(model(solver="sgd", learning_rate_init=0.05), Checkpoint(path), how)
    for _ in range(3):
        interrupted.partial_fit(X, y, classes=np.arange(10))
    resumed = load_checkpoint(path)
    for _ in range(3):
        resumed.partial_fit(X, y)
    reference = model(solver="sgd", learning_rate_init=0.05)
    for _ in range(6):
        reference.partial_fit(X, y, classes=np.arange(10))
    assert weights(resumed) == weights(reference)
    assert resumed._optimizer.t == reference._optimizer.t and resumed.loss_curve_ == reference.loss_curve_


@pytest.mark.parametrize("how", WIRINGS)
def test_warm_start_fits_resumed_from_a_checkpoint_are_bit_identical(tmp_path, how):
    path = tmp_path / "model.skops"
    interrupted = wire(model(warm_start=True, max_iter=2), Checkpoint(path, every=5), how)
    for _ in range(2):
        interrupted.fit(X, y)
    resumed = load_checkpoint(path)
    resumed.fit(X, y)
    reference = model(warm_start=True, max_iter=2)
    for _ in range(3):
        reference.fit(X, y)
    assert weights(resumed) == weights(reference) and resumed.loss_curve_ == reference.loss_curve_


def test_attach_works_without_sklearn_callback(tmp_path, monkeypatch):
    monkeypatch.setattr(fastnn.training.callbacks, "sklearn_callback_module", lambda: None)
    checkpoint = Checkpoint(tmp_path / "model.joblib", every=2)
    est = MLPClassifier((4,), max_iter=4, random_state=0)
    assert not hasattr(est, "set_callbacks")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        checkpoint.attach(est).fit(X, y)
    assert checkpoint.n_writes == 2
    assert weights(load_checkpoint(tmp_path / "model.joblib")) == weights(est)
