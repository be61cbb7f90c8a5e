"""What training control costs per fit: scikit-learn callbacks (``set_callbacks``) against none.

Many short epochs (digits 1797 x 64, hidden 32, batch 200: 9 steps an epoch, 50 epochs) so that a per-epoch cost
shows. Cases:

- ``none``: no callbacks were ever set: the solver loop's only extra work is one ``if events:`` per epoch;
- ``empty``: ``set_callbacks()`` with nothing (the estimator is back to ``none``);
- ``noop``: one callback whose hooks do nothing and do not ask for ``fitted_estimator`` (the cost of the
  task contexts and hook calls themselves);
- ``fitted``: one callback asking for ``fitted_estimator`` at each epoch's end (a copy of the estimator and its
  parameters per epoch, built because it is asked for).

asv runs the class; ``python -m benchmarks.bench_callbacks [--repeats N]`` runs the cases alternately in one
process and prints medians and ratios to ``none`` with the machine load.
"""
import argparse
import os
import time

import numpy as np

from .common import digits, quiet

CASES = ["none", "empty", "noop", "fitted"]
EPOCHS = 50


class NoOp:
    """A FitCallback that does nothing."""

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        return False


class AsksForTheModel(NoOp):
    """A FitCallback that asks for ``fitted_estimator`` at each task's end (and does nothing with it)."""

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        return False


def make(case, epochs=EPOCHS):
    from fastnn import MLPClassifier

    est = MLPClassifier((32,), batch_size=200, max_iter=epochs, tol=0.0, n_iter_no_change=10**9, random_state=0)
    if case == "empty":
        est.set_callbacks()
    elif case == "noop":
        est.set_callbacks(NoOp())
    elif case == "fitted":
        est.set_callbacks(AsksForTheModel())
    return est


class CallbackOverhead:
    """Fit time with and without callbacks (see the module docstring)."""

    params = CASES
    param_names = ["callbacks"]
    timeout = 300
    epochs = EPOCHS

    def setup(self, case):
        quiet()
        try:
            import sklearn.callback  # noqa: F401
        except ImportError:
            raise NotImplementedError("sklearn.callback needs scikit-learn >= 1.9") from None
        self.X, self.y = digits()
        make("none", 2).fit(self.X, self.y)  # compile / load the kernels outside the timing
        self.est = make(case, self.epochs)

    def time_fit(self, case):
        self.est.fit(self.X, self.y)


def main(repeats=15):
    quiet()
    X, y = digits()
    make("none", 2).fit(X, y)
    times = {case: [] for case in CASES}
    for _ in range(repeats):  # alternate the cases so that load changes hit them alike
        for case in CASES:
            est = make(case)
            start = time.perf_counter()
            est.fit(X, y)
            times[case].append(time.perf_counter() - start)
    base = float(np.median(times["none"]))
    print(f"MLPClassifier((32,)) on digits, {EPOCHS} epochs of 9 steps; medians of {repeats} alternating fits")
    for case in CASES:
        med = float(np.median(times[case]))
        per_epoch = (med - base) / EPOCHS * 1e6
        print(f"{case:>7}: {med * 1e3:8.2f} ms  ratio to none {med / base:5.3f}  ({per_epoch:+7.1f} us/epoch)")
    print("load average:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    main(parser.parse_args().repeats)
