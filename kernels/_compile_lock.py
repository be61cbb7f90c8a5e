"""Compile locks: when several processes need a kernel that is not cached yet, one compiles it and the others wait
and load it from the cache, instead of each compiling it (grid-search workers, a fit and its compile helper).

Each kernel has a lock file beside its cache index, ``<index name>.lock``. A process that misses the cache takes
the kernel's lock (``flock``, exclusive) and holds it while it compiles, until the compile is saved or has failed
(``release``, called by the kernel's dispatcher). A process that misses while another holds the lock waits, polling,
then looks in the cache again and loads what the other wrote; it compiles the kernel itself when the cache still
lacks it or after ``WAIT_SECONDS``. A lock dies with its process, so a killed compiler frees its kernel at once.

Low-priority processes (the background compile of the fused epoch) call ``follow_only()``: they wait for a lock
that is held, but never take one, so that a fit never waits for a process that the scheduler runs last. Without
``fcntl`` (Windows) nothing is locked: concurrent processes may compile a kernel twice, as with Numba's own cache.
"""
import contextlib
import contextvars
import os
import time

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

WAIT_SECONDS = 120.0  # a kernel compiles in 0.05-4 s; a holder this late is stuck, and the waiter compiles instead
POLL_SECONDS = 0.005

_follower = False
_on_miss = contextvars.ContextVar("fastnn_on_miss", default=None)


@contextlib.contextmanager
def on_first_miss(callback):
    """Within the block, the first kernel-cache miss of this thread calls ``callback()`` once, before compiling (a
    fit starts its compile helper there). An exception of ``callback`` is ignored: the compile goes on."""
    fired = []

    def hook():
        if not fired:
            fired.append(True)
            with contextlib.suppress(Exception):
                callback()

    token = _on_miss.set(hook)
    try:
        yield
    finally:
        _on_miss.reset(token)


def follow_only():
    """From now on this process waits for other processes' compiles but never makes them wait for its own."""
    global _follower
    _follower = True


def _try_lock(handle):
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


class CompileLock:
    """The lock of one kernel's cache entry (``path``), held by at most one compile of this process at a time."""

    def __init__(self, path):
        self.path = path
        self._handle = None

    def on_miss(self, look_again):
        """Called when the cache lacks a signature. Returns what ``look_again()`` (a cache load) finds once no
        other process is compiling this kernel, or None: then the caller compiles, holding the lock (unless this
        process only follows), and calls ``release`` when done."""
        hook = _on_miss.get()
        if hook is not None:
            hook()
        if fcntl is None or self._handle is not None:
            return None
        try:
            handle = open(self.path, "a+")  # noqa: SIM115  (held open across the compile)
        except OSError:  # the cache folder is read-only or gone: compile unlocked
            return None
        deadline = time.monotonic() + WAIT_SECONDS
        while not _try_lock(handle):
            if time.monotonic() > deadline:
                handle.close()
                return None
            time.sleep(POLL_SECONDS)
        found = look_again()  # another process may have written it between our miss and our lock
        if found is not None or _follower:
            handle.close()  # closing the file releases the lock
            return found
        self._handle = handle
        return None

    def held_elsewhere(self):
        """Whether another process holds this lock now (it is compiling the kernel)."""
        if fcntl is None or self._handle is not None:
            return False
        try:
            with open(self.path, "a+") as handle:
                return not _try_lock(handle)  # closing the file releases the lock taken to look
        except OSError:
            return False

    def release(self):
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()


def lock_path(cache_path, filename_base):
    return os.path.join(cache_path, f"{filename_base}.lock")
