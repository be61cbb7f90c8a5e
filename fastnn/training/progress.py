"""Per-epoch progress bar for long fits (``progress_bar=True`` on the estimators), drawn with tqdm.

scikit-learn's ``verbose`` keeps its meaning (one printed line per epoch); the bar is a separate switch so that
neither scikit-learn's nor Keras's convention for ``verbose`` is broken. tqdm is an optional dependency
(``pip install "fastnn[progress]"``) and is imported only when a bar is asked for. The bar is an epoch listener
(``fastnn.training.events``): it sees the same events as scikit-learn's callbacks.
"""


class EpochBar:
    """A bar over ``total`` epochs showing the training loss, the last validation score (if any) and the time."""

    def __init__(self, total, desc):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise ImportError(
                "progress_bar=True needs tqdm: pip install tqdm (or the 'progress' extra of fastnn)."
            ) from None
        self._bar = tqdm(total=total, desc=desc, unit="epoch", leave=True, dynamic_ncols=True)

    def epoch_begin(self, est, flat):
        pass

    def epoch_end(self, est, flat):
        postfix = {"loss": f"{est.loss_:.4g}"}
        scores = getattr(est, "validation_scores_", None)
        if scores:
            postfix["val"] = f"{scores[-1]:.4f}"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)
        return False

    def fit_end(self, est):
        pass

    def write(self, line):
        """Print a line without breaking the bar (``verbose`` output while a bar is shown)."""
        self._bar.write(line)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
