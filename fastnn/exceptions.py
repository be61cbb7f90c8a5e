"""Warnings and errors specific to fastnn (``CacheFallbackWarning`` lives with the kernels: ``fastnn.kernels``)."""


class InconsistentVersionWarning(UserWarning):
    """An estimator is unpickled by a fastnn version other than the one that pickled it.

    Modelled on ``sklearn.exceptions.InconsistentVersionWarning``: the pickle holds only arrays and
    hyperparameters, so it usually loads fine, but layer semantics may have changed between versions; check the
    model's predictions, or refit and pickle again with the running version.

    Parameters
    ----------
    estimator_name : str
        Class name of the unpickled estimator.
    current_fastnn_version : str
        The running fastnn version.
    original_fastnn_version : str
        The fastnn version that pickled the estimator.

    Examples
    --------
    >>> from fastnn.exceptions import InconsistentVersionWarning
    >>> w = InconsistentVersionWarning(estimator_name="MLPClassifier", current_fastnn_version="0.2.0",
    ...                                original_fastnn_version="0.1.0")
    >>> w.original_fastnn_version
    '0.1.0'
    """

    def __init__(self, *, estimator_name, current_fastnn_version, original_fastnn_version):
        self.estimator_name = estimator_name
        self.current_fastnn_version = current_fastnn_version
        self.original_fastnn_version = original_fastnn_version

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from fastnn version "
            f"{self.original_fastnn_version} when using version {self.current_fastnn_version}. The model was "
            "loaded, but its predictions may differ; check them, or refit and pickle it again with this version."
        )
