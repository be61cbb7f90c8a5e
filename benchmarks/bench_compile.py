"""T4: start-up cost of a fresh process (import fastnn, load digits, one-epoch fit), with an empty Numba cache
(every kernel compiles) and with a warm one (every kernel loads from the cache). ``timeraw_`` benchmarks run
their code in a new interpreter; the timed part is the import and the fit, not interpreter start-up.
"""
import shutil
import tempfile

from .common import fastnn_has_estimator, run_start, start_code


class ColdStart:
    """Empty ``NUMBA_CACHE_DIR`` (a new temporary directory for every run)."""

    number = 1
    repeat = 1
    timeout = 600

    def setup(self):
        if not fastnn_has_estimator():
            raise NotImplementedError("fastnn.MLPClassifier is not available")

    def timeraw_import_and_fit_digits(self):
        stmt, setup = start_code("__TMP__")
        setup = setup.replace(
            "'__TMP__'",
            "__import__('tempfile').mkdtemp(prefix='fastnn-cold-')",
        )
        setup += "import atexit, shutil\natexit.register(shutil.rmtree, os.environ['NUMBA_CACHE_DIR'], True)\n"
        return stmt, setup


class WarmStart:
    """``NUMBA_CACHE_DIR`` filled by one untimed run in ``setup``."""

    number = 1
    repeat = 3
    timeout = 600

    def setup(self):
        if not fastnn_has_estimator():
            raise NotImplementedError("fastnn.MLPClassifier is not available")
        self.cache_dir = tempfile.mkdtemp(prefix="fastnn-warm-")
        run_start(self.cache_dir)

    def teardown(self):
        shutil.rmtree(self.cache_dir, ignore_errors=True)

    def timeraw_import_and_fit_digits(self):
        return start_code(self.cache_dir)
