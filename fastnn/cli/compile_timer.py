"""Seconds of Numba compilation per kernel, from Numba's compile events (what ``warmup`` and the first-fit
benchmark report)."""
import contextlib
import time


@contextlib.contextmanager
def compile_seconds():
    """Within the block, every Numba compile adds its own seconds (its callees' excluded) to the yielded dict
    under the kernel's name."""
    from numba.core import event

    seconds, stack = {}, []

    class Timer(event.Listener):
        def on_start(self, ev):
            stack.append([ev.data["dispatcher"].py_func.__name__, time.perf_counter(), 0.0])

        def on_end(self, ev):
            name, start, children = stack.pop()
            elapsed = time.perf_counter() - start
            seconds[name] = seconds.get(name, 0.0) + elapsed - children
            if stack:
                stack[-1][2] += elapsed

    timer = Timer()
    event.register("numba:compile", timer)
    try:
        yield seconds
    finally:
        event.unregister("numba:compile", timer)
