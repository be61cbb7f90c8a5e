"""Background compiles: the fused MLP kernels (the epoch kernel of a fit's loss and optimizer rule,
``kernels.mlp.epoch_kernel``, and ``mlp_forward``) compiled into the kernel cache by a separate process while the
first fits run layer by layer, so that the default path reaches fused speed without a warm-up
(``fastnn.network.fused`` switches between epochs when the kernel lands; the paths are bit-identical).

The compile is paid once per machine (per kernel cache, fastnn version, dtype and variant), not per fit or per
process:

- **one at a time**: the compiling process holds an exclusive ``flock`` on ``fused-<dtype>-<variant>.lock`` in the
  cache folder; a process that finds it held starts nothing, and a second compiler started at the same moment waits
  for the lock and then finds the kernels cached;
- **only on a spare core**: none starts in the worker of a process pool (a parallel search's) or while every core
  is busy (``spare_core``), where it would slow the fits more than the fused epoch speeds them; a later epoch asks
  again, and the search's refit in its parent process starts it;
- **bounded and quiet**: one interpreter at low priority (``nice`` 10), no output, stopped after
  ``TIMEOUT_SECONDS``; it outlives the fit that started it, so a short script still fills the cache for the next;
- **safe to kill**: Numba writes each cache file under a temporary name and renames it, and a kernel counts as
  cached only when its index entry and its data file are both there (``fastnn.kernels.is_cached``); the lock dies
  with its process;
- **off** with ``FASTNN_BACKGROUND_COMPILE=0`` in the environment or ``fastnn.set_background_compile(False)``;
  then ``fused='auto'`` compiles the fused epoch in the fitting process only when that fit is long enough to repay
  it, as before. Nothing starts when the kernels run uncached (no writable cache folder).

The compiling process runs ``main([dtype name, loss code, optimizer rule])`` (``[dtype name, 'forward']``: only
``mlp_forward``): exit status 0 when it compiled, 3 when the kernels were already cached.
"""
import contextlib
import os
import subprocess
import sys
import threading

ENV = "FASTNN_BACKGROUND_COMPILE"
TIMEOUT_SECONDS = 900
ALREADY_CACHED = 3
LOADAVG = "/proc/loadavg"  # its fourth field: threads ready to run now / all threads

_setting = None  # set_background_compile's choice; None: the environment decides
_children = {}  # dtype name -> the Popen this process started
_spawn_lock = threading.Lock()
_CHILD = "import sys; from fastnn.network.background import main; sys.exit(main())"

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None


def set_background_compile(enabled):
    """Turn background compiles of the fused kernels on or off for this process (``None``: back to the
    ``FASTNN_BACKGROUND_COMPILE`` environment variable, on unless it is ``0``). A compile already running finishes.

    Parameters
    ----------
    enabled : bool or None
        ``True`` or ``False`` for this process; ``None`` to follow the environment variable again.

    Raises
    ------
    ValueError
        If ``enabled`` is not ``True``, ``False`` or ``None``.

    Examples
    --------
    >>> import fastnn
    >>> fastnn.set_background_compile(False)
    >>> fastnn.set_background_compile(None)
    """
    global _setting
    if enabled not in (True, False, None):
        raise ValueError(f"enabled must be True, False or None, got {enabled!r}.")
    _setting = enabled


@contextlib.contextmanager
def paused():
    """Within the block, this process starts no background compile and no compile helper (``warmup`` compiles
    everything itself, in processes of its own); the setting before is restored after."""
    global _setting
    saved, _setting = _setting, False
    try:
        yield
    finally:
        _setting = saved


def enabled():
    """Whether background compiles are on (``set_background_compile``, else ``FASTNN_BACKGROUND_COMPILE``)."""
    if _setting is not None:
        return _setting
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def variant_name(dtype, codes=None):
    """``'float32-0-1'`` for the epoch kernel of loss code 0 and optimizer rule 1, ``'float32-forward'`` for
    ``mlp_forward`` alone: the name of a background compile, its lock and its arguments."""
    return f"{dtype}-{codes[0]}-{codes[1]}" if codes else f"{dtype}-forward"


def lock_path(folder, variant):
    return os.path.join(folder, f"fused-{variant}.lock")


def _try_lock(handle, exclusive):
    """Take the lock of an open lock file without waiting; False when another process holds it."""
    if fcntl is not None:
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except OSError:
            return False
        return True
    import msvcrt

    handle.seek(0)  # msvcrt locks bytes from the current position: always the first one
    try:
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    if not exclusive:
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
    return True


def compiling(folder, dtype_name=None):
    """Whether a background compile holds its lock in the cache ``folder`` (for ``dtype_name``, or any dtype)."""
    import glob

    for path in glob.glob(os.path.join(glob.escape(folder), f"fused-{dtype_name or ''}*.lock")):
        try:
            with open(path, "a+") as handle:
                if not _try_lock(handle, exclusive=False):
                    return True
        except OSError:
            continue
    return False


def pending(dtype, codes=None, start=True):
    """Whether the fused kernels for ``dtype`` are on their way into the cache: a background compile of the epoch
    kernel for ``codes`` (loss code, optimizer rule) and ``mlp_forward`` is running (started here, now if needed and
    ``start``, else at a later call, or by another process); without ``codes``, of ``mlp_forward`` (any running
    compile of the dtype brings it). A compile helper of this process (``compile_helper``) goes first.
    False when background compiles are off, the kernels run uncached, or this process's compile has ended (then
    the caller decides as without background compiles)."""
    if not enabled() or not sys.executable:
        return False
    from ..kernels import cache_dir

    folder = cache_dir()
    if folder is None:
        return False
    name = variant_name(dtype, codes)
    from . import compile_helper

    with _spawn_lock:
        child = _children.get(name)
        if child is not None:
            return child.poll() is None
        if compiling(folder, name if codes else str(dtype)):
            return True
        if not start or compile_helper.running():  # the fit's own kernels first: started at a later call
            return True
        if not spare_core():  # it would slow the fits that keep the cores busy: asked again at the next epoch
            return False
        _children[name] = _spawn(name)
    return True


def spare_core():
    """Whether a core is free for a compile process of its own. Not in a worker of a process pool (loky's, as a
    parallel search's, or multiprocessing's): the pool has the cores, and its parent compiles at its own fits.
    Elsewhere, when other processes leave a core beside this one's: their threads ready to run right now (Linux's
    ``/proc/loadavg`` counts all, ``/proc/self/task`` this process's, whose BLAS threads may be spinning) are fewer
    than the cores this process may use, less one. Where that cannot be read, on any machine of two cores or more."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    try:
        with open(LOADAVG) as handle:
            ready = int(handle.read().split()[3].split("/")[0])
        ready -= _ready_here()
    except (OSError, ValueError, IndexError):
        return cores > 1
    return ready < cores - 1


def _ready_here():
    """This process's threads that are running or ready to run (state R in ``/proc/self/task/*/stat``)."""
    ready = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat") as handle:
                ready += handle.read().rpartition(")")[2].split()[0] == "R"
        except (OSError, IndexError):  # a thread that ended meanwhile
            continue
    return ready


def running(dtype):
    """Whether a compile of the fused kernels for ``dtype`` is in progress (started by this process or another one),
    without starting one."""
    name = str(dtype)
    if any(child.poll() is None for variant, child in list(_children.items()) if variant.startswith(name + "-")):
        return True
    from ..kernels import cache_dir

    folder = cache_dir()
    return folder is not None and compiling(folder, name)


def _spawn(name):
    return spawn_quiet(_CHILD, *name.split("-"))


def spawn_quiet(code, *args):
    """A detached interpreter running ``code`` with ``args``: no input or output, its own session (it outlives its
    parent and a Ctrl-C in the parent's terminal). The background compile and the compile helper start this way."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True,
    )


def _wait_for_lock(handle):
    if fcntl is not None:
        fcntl.flock(handle, fcntl.LOCK_EX)
    else:
        import msvcrt

        handle.seek(0)
        while True:  # LK_LOCK gives up after 10 attempts a second apart
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:
                continue


def _typed(dtype_name):
    """A tiny fused network of ``dtype_name`` with its plan, and epoch-kernel arguments of the types every fit
    passes (every variant takes the same types: labels and targets are both passed, one of them empty)."""
    import numpy as np

    from ..layers import Dense, ReLU
    from ..losses import SoftmaxCrossEntropy
    from .sequential import Sequential

    dtype = np.dtype(dtype_name)
    net = Sequential([Dense(2), ReLU(), Dense(2)], SoftmaxCrossEntropy(), fused=True).build((2,), dtype, 0)
    X = np.zeros((4, 2), dtype)
    plan = net._fused_plan()
    _, args = plan.epoch_call(X, np.array([0, 1, 0, 1]), None, np.arange(4), 2, 1e-4, 1.0)
    return net, plan, X, args


def missing(dtype_name, variants):
    """The ``(loss code, optimizer rule)`` pairs of ``variants`` whose epoch kernel for ``dtype_name`` is neither
    compiled in this process nor cached."""
    from ..kernels import mlp

    _, plan, _, args = _typed(dtype_name)
    return [codes for codes in variants if not plan._ready(mlp.epoch_kernel(*codes), args)]


def compile_fused(dtype_name, codes=None):
    """Compile (or load) ``mlp_forward`` for ``dtype_name``, and with ``codes`` (loss code, optimizer rule) that
    variant's epoch kernel, with the argument types a fit passes; returns whether anything had to be compiled."""
    import warnings

    from ..kernels import mlp

    net, plan, X, args = _typed(dtype_name)
    compiled = False
    if codes is not None:
        kernel = mlp.epoch_kernel(*codes)
        if not plan._ready(kernel, args):
            kernel.compile(plan._typed[kernel])  # compiled for the arguments' types, without running it
            compiled = True
    if not plan._ready(mlp.mlp_forward, plan.forward_args(X)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net.logits(X)
        compiled = True
    return compiled


def main(argv=None):
    """The compiling process: ``argv`` is ``[dtype name, loss code, optimizer rule]`` or ``[dtype name, 'forward']``."""
    argv = argv or sys.argv[1:]
    dtype_name, codes = argv[0], (None if argv[1:] == ["forward"] else (int(argv[1]), int(argv[2])))
    if hasattr(os, "nice"):
        os.nice(10)
    if hasattr(__import__("signal"), "alarm"):
        import signal

        signal.alarm(TIMEOUT_SECONDS)  # bounded: SIGALRM ends the process, and the lock with it
    from ..kernels import cache_dir, follow_compiles

    follow_compiles()  # low priority: waits for a fit's compiles of the kernels it shares, never makes a fit wait
    folder = cache_dir()
    if folder is None:
        return ALREADY_CACHED
    os.makedirs(folder, exist_ok=True)
    with open(lock_path(folder, variant_name(dtype_name, codes)), "a+") as handle:
        _wait_for_lock(handle)
        return 0 if compile_fused(dtype_name, codes) else ALREADY_CACHED


if __name__ == "__main__":
    sys.exit(main())
