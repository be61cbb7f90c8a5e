"""The epoch event stream of a fit: the one way the solver loops report progress.

The loops of ``fastnn.training.solvers`` call ``epoch_begin(est, flat)`` before and ``epoch_end(est, flat)`` after each
epoch (each L-BFGS iteration), ``flat`` being the parameter vector the model has at that moment; the estimator's
fitted attributes (``n_iter_``, ``loss_curve_``, ``validation_scores_``, ...) are up to date when
``epoch_end`` is called. A listener is any object with these methods plus ``fit_end(est)`` (after a successful
fit) and ``close()`` (always, last); ``epoch_end`` returning True asks the fit to stop after that epoch. The
listeners are the tqdm bar (``progress_bar=True``, ``fastnn.training.progress``) and scikit-learn's callbacks
(``fastnn.training.callbacks``). ``EpochEvents`` without listeners is falsy: the loops test ``if events:`` and pay
nothing more per epoch.
"""

#: The estimator attribute holding listeners attached to it (``Checkpoint.attach``): every fit of the estimator calls
#: them, with or without ``sklearn.callback``; they are neither cloned nor pickled.
ATTACHED = "_attached_epoch_listeners"


class EpochEvents:
    """The listeners of one fit, called in order."""

    __slots__ = ("listeners",)

    def __init__(self, listeners=()):
        self.listeners = [listener for listener in listeners if listener is not None]

    def __bool__(self):
        return bool(self.listeners)

    def epoch_begin(self, est, flat):
        for listener in self.listeners:
            listener.epoch_begin(est, flat)

    def epoch_end(self, est, flat):
        """Whether some listener asks to stop (every listener is called regardless)."""
        stop = False
        for listener in self.listeners:
            stop = bool(listener.epoch_end(est, flat)) or stop
        return stop

    def fit_end(self, est):
        for listener in self.listeners:
            listener.fit_end(est)

    def write(self, line):
        """Print a ``verbose`` line, through the first listener that draws on the terminal (the bar), if any."""
        for listener in self.listeners:
            if hasattr(listener, "write"):
                listener.write(line)
                return
        print(line)

    def close(self):
        for listener in self.listeners:
            listener.close()
