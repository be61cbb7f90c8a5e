"""Per-epoch progress bar for long fits (``progress_bar=True`` on the estimators), drawn with tqdm.

scikit-learn's ``verbose`` keeps its meaning (one printed line per epoch); the bar is a separate switch so that
neither scikit-learn's nor Keras's convention for ``verbose`` is broken. tqdm is an optional dependency
(``pip install "fastnn[progress]"``) and is imported only when a bar is asked for.
"""


class EpochBar:
    """A bar over ``total`` epochs showing the training loss, the validation score (if any) and the time;
    a no-op when ``enabled`` is false."""

    def __init__(self, total, enabled, desc):
        self._bar = None
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise ImportError(
                "progress_bar=True needs tqdm: pip install tqdm (or the 'progress' extra of fastnn)."
            ) from None
        self._bar = tqdm(total=total, desc=desc, unit="epoch", leave=True, dynamic_ncols=True)

    def update(self, loss, validation_score=None):
        if self._bar is None:
            return
        postfix = {"loss": f"{loss:.4g}"}
        if validation_score is not None:
            postfix["val"] = f"{validation_score:.4f}"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)

    def write(self, line):
        """Print a line without breaking the bar (used for ``verbose`` output while a bar is shown)."""
        if self._bar is None:
            print(line)
        else:
            self._bar.write(line)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
