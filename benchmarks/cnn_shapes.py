"""Small CNNs of several shapes, fastnn against PyTorch CPU: training epoch, inference, peak memory, per layer.

Every network is ``[Conv2D(f, k, 'same') -> ReLU -> MaxPool2D(2)] for (f, k) in convs -> Flatten -> Dense(10)``
(a convolution given as ``(f, k, 2)`` has stride 2 and no pooling after it, as in all-convolutional nets),
softmax cross-entropy, Adam(1e-3), float32, shuffled batches of random images (``SHAPES`` below). For each shape,
in one process and alternating the two libraries (fastnn, torch, fastnn, torch, ...), after one warm-up epoch
each (which compiles fastnn's kernels):

- **train**: median seconds of one epoch over ``N_TRAIN`` images;
- **infer**: median seconds of the probabilities of 10,000 images in one call (fastnn ``Sequential.predict``,
  what ``predict_proba`` runs; torch ``softmax(model(X))`` under ``no_grad``);
- **peak**: peak resident memory above the level before the first epoch of a freshly built model, the same
  method for both libraries, each in a fresh process after one warm-up batch on another model (which compiles
  or loads fastnn's kernels): the kernel's high-water mark ``VmHWM`` is reset through ``/proc/self/clear_refs``,
  then read from ``/proc/self/status`` after the epoch. fastnn's traced peak (``tracemalloc``, NumPy's
  allocations) is printed as well;
- **per layer** (``--layers``): median seconds of each layer's forward (training mode) and backward on one batch,
  as GFLOP/s (2 per multiply-add; conv forward ``2*F*C*kh*kw*H'*W'`` per image, backward twice that, once for
  the first layer, which needs no input gradient); then each convolution's backward split into backward-data
  and backward-weights (as many FLOPs as the forward each): PyTorch's ``convolution_backward`` with one output
  asked for, fastnn's backward without the input gradient (weights and bias) and the full backward minus that.

    python benchmarks/cnn_shapes.py                       # all shapes, 2 threads, Markdown tables
    python benchmarks/cnn_shapes.py --threads 1 --shapes mnist,wide
    python benchmarks/cnn_shapes.py --layers --no-train   # per-layer profile only
    python benchmarks/cnn_shapes.py --threads 1 --clock cpu   # CPU seconds: steadier on a busy machine
    python benchmarks/cnn_shapes.py --one-range --no-peak     # threads split vs one range, alternating in one run

PyTorch is optional (``pip install torch``); it is never a dependency of fastnn.
"""
import argparse
import os
import subprocess
import sys
import time
import tracemalloc
from collections import defaultdict

import numpy as np

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable from the repository root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import machine_info  # noqa: E402
from fastnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU  # noqa: E402
from fastnn.layers import threads as layer_threads  # noqa: E402
from fastnn.losses import SoftmaxCrossEntropy  # noqa: E402
from fastnn.network import Sequential  # noqa: E402
from fastnn.optimizers import Adam  # noqa: E402

# name: (image shape (C, H, W), convolutions ((filters, kernel), ...), batch size)
SHAPES = {
    "mnist": ((1, 28, 28), ((16, 3), (32, 3)), 64),  # compare.py's T6 net
    "mnist5_b32": ((1, 28, 28), ((32, 5), (64, 5)), 32),
    "cifar5": ((3, 32, 32), ((32, 5), (64, 3)), 64),  # 3 channels, 5x5 first layer
    "cifar3_b128": ((3, 32, 32), ((16, 3), (32, 3)), 128),
    "wide": ((1, 28, 28), ((64, 3),), 128),  # one wide convolution
    "c3_128f_b32": ((3, 32, 32), ((32, 3), (128, 3)), 32),  # 128 filters, small batch
    "s2_mnist_b256": ((1, 28, 28), ((32, 5, 2), (64, 3, 2)), 256),  # stride 2 instead of pooling, large batch
    "s2_c3_b128": ((3, 32, 32), ((32, 3, 2), (64, 3, 2)), 128),
}
N_TRAIN, N_INFER, LR, CLASSES = 4096, 10_000, 1e-3, 10


def make_data(image, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, *image)).astype(np.float32), rng.integers(0, CLASSES, n)


def conv_spec(spec):
    """``(filters, kernel, stride)`` of a ``(filters, kernel[, stride])`` entry of ``SHAPES``."""
    return (*spec, 1) if len(spec) == 2 else tuple(spec)


def geometry(image, convs):
    """Per conv layer ``(C, H', W', F, k)`` (``H', W'`` its output size) and the flattened size after the last layer."""
    C, H, W = image
    out = []
    for spec in convs:
        F, k, s = conv_spec(spec)
        Ho, Wo = (H + 2 * (k // 2) - k) // s + 1, (W + 2 * (k // 2) - k) // s + 1
        out.append((C, Ho, Wo, F, k))
        C, H, W = (F, Ho // 2, Wo // 2) if s == 1 else (F, Ho, Wo)
    return out, C * H * W


def layer_flops(image, convs):
    """Forward multiply-add FLOPs per image of each conv layer and of the dense layer."""
    geo, flat = geometry(image, convs)
    return [2 * F * C * k * k * Ho * Wo for C, Ho, Wo, F, k in geo], 2 * flat * CLASSES


def epoch_flops(image, convs, n):
    convs_f, dense = layer_flops(image, convs)
    return n * (2 * convs_f[0] + 3 * sum(convs_f[1:]) + 3 * dense)


# ----------------------------------------------------------------------------------------------- fastnn
def fastnn_model(image, convs, seed=0):
    layers = []
    for spec in convs:
        F, k, s = conv_spec(spec)
        layers += [Conv2D(F, k, stride=s, padding="same"), ReLU()] + ([MaxPool2D(2)] if s == 1 else [])
    layers += [Flatten(), Dense(CLASSES)]
    return Sequential(layers, SoftmaxCrossEntropy(), optimizer=Adam(LR)).build(image, np.float32, seed)


def fastnn_epoch(net, X, y, order, batch):
    for i in range(0, len(order), batch):
        idx = order[i : i + batch]
        net.train_step(X[idx], y[idx])


def fastnn_infer(net, X):
    return net.predict(X)


def one_range(fn):
    """``fn`` with every conv/pool pass on one sample range: fastnn without the thread split (``--one-range``)."""

    def run():
        budget = layer_threads.thread_budget
        layer_threads.thread_budget = lambda: 1
        try:
            fn()
        finally:
            layer_threads.thread_budget = budget

    return run


# ----------------------------------------------------------------------------------------------- torch
def torch_model(image, convs, seed=0):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    mods, C = [], image[0]
    for spec in convs:
        F, k, s = conv_spec(spec)
        mods += [nn.Conv2d(C, F, k, stride=s, padding=k // 2), nn.ReLU()] + ([nn.MaxPool2d(2)] if s == 1 else [])
        C = F
    _, flat = geometry(image, convs)
    model = nn.Sequential(*mods, nn.Flatten(), nn.Linear(flat, CLASSES))
    return model, torch.optim.Adam(model.parameters(), lr=LR), nn.CrossEntropyLoss()


def torch_epoch(state, X, y, order, batch):
    import torch

    model, opt, loss_fn = state
    Xt, yt, ot = torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(order)
    for i in range(0, len(order), batch):
        idx = ot[i : i + batch]
        opt.zero_grad(set_to_none=True)
        loss_fn(model(Xt[idx]), yt[idx]).backward()
        opt.step()


def torch_infer(state, X):
    import torch

    with torch.no_grad():
        return torch.softmax(state[0](torch.from_numpy(X)), dim=1).numpy()


# ----------------------------------------------------------------------------------------------- measuring
CLOCK = time.perf_counter  # --clock cpu: time.process_time (CPU seconds of all the process's threads)


def timed(fn, *args):
    t = CLOCK()
    fn(*args)
    return CLOCK() - t


def _rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def peak_rss(fn, *args):
    """Bytes of resident memory above the level before ``fn(*args)`` at its peak (``VmHWM`` after a reset)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _rss_kib("VmRSS:")
    fn(*args)
    return (_rss_kib("VmHWM:") - before) * 1024


def peak_in_fresh_process(impl, name, args):
    """:func:`peak_rss` of a first training epoch, measured in a fresh process (a process that already ran
    epochs reuses freed heap, so its resident memory no longer grows). The child runs one warm-up batch on
    another model first (compiling / loading fastnn's kernels, initialising torch), then builds the measured
    model and runs the epoch; the warm-up batch holds two images, so that the heap it frees is small."""
    cmd = [sys.executable, __file__, "--peak-child", impl, "--shapes", name, "--n-train", str(args.n_train),
           "--threads", str(args.threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def peak_child(impl, name, args):
    image, convs, batch = SHAPES[name]
    X, y = make_data(image, args.n_train)
    order = np.random.default_rng(1).permutation(len(X))
    if impl == "fastnn":
        fastnn_epoch(fastnn_model(image, convs, 2), X, y, order[:2], 2)
        print(peak_rss(lambda: fastnn_epoch(fastnn_model(image, convs, 1), X, y, order, batch)))
    else:
        torch_epoch(torch_model(image, convs, 2), X, y, order[:2], 2)
        print(peak_rss(lambda: torch_epoch(torch_model(image, convs, 1), X, y, order, batch)))


def traced_peak(fn, *args):
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


#: Seconds of rest before each timed call: PyTorch's OpenMP threads spin-wait after a parallel region, and
#: OpenBLAS's after a threaded GEMM; without a pause they take the other core from whatever runs next (measured:
#: fastnn's two-thread inference of the "wide" net 2.6x slower right after a PyTorch run than without it).
REST_SECONDS = 0.3


def alternate(runners, repeats):
    """Median seconds of each runner, calling them in turn ``repeats`` times (``REST_SECONDS`` apart)."""
    times = defaultdict(list)
    for _ in range(repeats):
        for name, fn in runners.items():
            time.sleep(REST_SECONDS)
            times[name].append(timed(fn))
    return {name: float(np.median(t)) for name, t in times.items()}


# ----------------------------------------------------------------------------------------------- per layer
def fastnn_layer_times(net, X, repeats):
    """Median seconds of each layer's forward (training) and backward on batch ``X``: ``[(name, fwd, bwd)]``."""
    acts = [X]
    for layer in net.layers:
        acts.append(layer.forward(acts[-1], training=True).copy())
    douts = [np.random.default_rng(3).standard_normal(a.shape).astype(np.float32) for a in acts[1:]]
    rows = []
    for i, layer in enumerate(net.layers):
        fwd, bwd = [], []
        for _ in range(repeats):
            fwd.append(timed(layer.forward, acts[i], True))
            if i >= net._first:
                bwd.append(timed(layer.backward, douts[i]))
        rows.append((repr(layer), float(np.median(fwd)), float(np.median(bwd)) if bwd else 0.0))
    return rows


def torch_layer_times(model, X, repeats):
    import torch

    rows = []
    x = torch.from_numpy(X)
    first = True
    for mod in model:
        trainable = any(p.requires_grad for p in mod.parameters())
        inp = x.detach().requires_grad_(not first)
        fwd, bwd = [], []
        for _ in range(repeats):
            t = CLOCK()
            out = mod(inp)
            fwd.append(CLOCK() - t)
            dout = torch.ones_like(out)
            t = CLOCK()
            out.backward(dout)
            bwd.append(CLOCK() - t)
        rows.append((repr(mod).split("(")[0], float(np.median(fwd)), float(np.median(bwd))))
        first = first and not trainable
        x = out.detach()
    return rows


#: Seconds of untimed calls before a block's timed ones.
WARM_SECONDS = 0.1


def block(fn, repeats):
    """Median seconds of ``repeats`` calls of ``fn`` in a row, after ``REST_SECONDS`` and ``WARM_SECONDS`` of
    untimed calls (at least two): each timed call follows calls of the same library. Calls alternating with the
    other library's ran fastnn's two-thread backward 2x slower (PyTorch's OpenMP workers still spinning, caches
    holding PyTorch's arrays); right after the rest, the first tens of milliseconds of two-thread calls ran up to
    2x slower on this virtual machine (idle cores waking up)."""
    time.sleep(REST_SECONDS)
    start, calls = time.perf_counter(), 0
    while calls < 2 or time.perf_counter() - start < WARM_SECONDS:
        fn()
        calls += 1
    return float(np.median([timed(fn) for _ in range(repeats)]))


WEIGHTS, DATA = [False, True, True], [True, False, False]  # convolution_backward's output masks


def _fastnn_split(layer, x, dout, repeats):
    """``(data, weights)`` seconds of ``layer``'s backward after a training forward of ``x``: weights is the median
    of its backward without the input gradient, data the median difference of a full backward and the one without
    it, called in pairs (after the rest and warm-up of :func:`block`), so that a slow stretch of the machine slows
    both halves of a pair; 0 for a layer that needs no input gradient."""
    grad = layer.input_grad
    layer.forward(x, True)

    def backward(input_grad):
        layer.input_grad = input_grad
        return timed(layer.backward, dout)

    try:
        if not grad:
            return 0.0, block(lambda: layer.backward(dout), repeats)
        block(lambda: (backward(True), backward(False)), 1)
        pairs = [(backward(True), backward(False)) for _ in range(repeats)]
    finally:
        layer.input_grad = grad
    return max(float(np.median([full - w for full, w in pairs])), 0.0), float(np.median([w for _, w in pairs]))


def conv_backward_split(net, model, X, repeats):
    """Median seconds ``[(data, weights)]`` of each conv layer's backward-data and backward-weights (incl. bias) on
    batch ``X``, each library timed in blocks (:func:`block`): ``(fastnn rows, torch rows)``; data is 0 for the
    first layer. fastnn's backward-data is its full backward less its backward without the input gradient
    (:func:`_fastnn_split`)."""
    import torch

    acts = [X]
    for layer in net.layers:
        acts.append(layer.forward(acts[-1], training=True).copy())
    mods = [m for m in model if isinstance(m, torch.nn.Conv2d)]
    convs = [i for i, layer in enumerate(net.layers) if isinstance(layer, Conv2D)]
    rows_f, rows_t = [], []
    for i, mod in zip(convs, mods):
        layer = net.layers[i]
        dout = np.random.default_rng(3).standard_normal(acts[i + 1].shape).astype(np.float32)
        xt, dt = torch.from_numpy(acts[i]), torch.from_numpy(dout)
        args = (dt, xt, mod.weight.detach(), [mod.out_channels], list(mod.stride), list(mod.padding), [1, 1], False,
                [0, 0], 1)
        backward = torch.ops.aten.convolution_backward
        rows_f.append(_fastnn_split(layer, acts[i], dout, repeats))
        tw = block(lambda: backward(*args, WEIGHTS), repeats)
        rows_t.append((block(lambda: backward(*args, DATA), repeats) if layer.input_grad else 0.0, tw))
    return rows_f, rows_t


def split_table(name, image, convs, batch, repeats, torch_state):
    """``(Markdown text, [((fastnn data, weights), (torch data, weights)) per conv])``, seconds."""
    X, _ = make_data(image, batch, seed=5)
    net = fastnn_model(image, convs)
    rows_f, rows_t = conv_backward_split(net, torch_state[0], X, repeats)
    conv_f, _ = layer_flops(image, convs)
    lines = [
        f"\nConv backward split, {name}, one batch of {batch} (median of {repeats}); ms (GFLOP/s)",
        "",
        "| conv | fastnn bwd-data | torch bwd-data | fastnn bwd-weights | torch bwd-weights | data torch/fastnn | "
        "weights torch/fastnn |",
        "|---|---|---|---|---|---|---|",
    ]
    for ci, ((fd, fw), (td, tw)) in enumerate(zip(rows_f, rows_t)):
        fl = conv_f[ci] * batch

        def cell(sec):
            return f"{sec * 1e3:.3f} ({fl / sec / 1e9:.0f})" if sec > 0 else "-"

        lines.append(f"| {conv_label(ci, convs)} | {cell(fd)} | {cell(td)} | "
                     f"{cell(fw)} | {cell(tw)} | " + (f"{td / fd:.2f}x" if fd > 0 else "-") + f" | {tw / fw:.2f}x |")
    return "\n".join(lines), list(zip(rows_f, rows_t))


def conv_label(ci, convs):
    F, k, stride = conv_spec(convs[ci])
    return f"{ci + 1}: {F} filters {k}x{k} stride {stride}"


def layer_table(name, image, convs, batch, repeats, torch_state):
    """``(Markdown text, [(fastnn, torch) forward seconds per conv])``."""
    X, _ = make_data(image, batch, seed=5)
    net = fastnn_model(image, convs)
    fastnn_layer_times(net, X, 1)  # warm-up: compiles / loads the kernels
    rows_f = fastnn_layer_times(net, X, repeats)
    rows_t = torch_layer_times(torch_state[0], X, repeats) if torch_state else None
    conv_f, dense_f = layer_flops(image, convs)
    flops, ci = [], 0
    for layer in net.layers:
        if isinstance(layer, Conv2D):
            f = conv_f[ci] * batch
            flops.append((f, f * (1 if ci == 0 else 2)))
            ci += 1
        elif isinstance(layer, Dense):
            flops.append((dense_f * batch, 2 * dense_f * batch))
        else:
            flops.append((0, 0))
    lines = [
        f"\nPer layer, {name}, one batch of {batch} (median of {repeats}); ms and GFLOP/s",
        "",
        "| layer | fastnn fwd | torch fwd | fastnn bwd | torch bwd | fwd torch/fastnn | bwd torch/fastnn |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, (lname, ff, fb) in enumerate(rows_f):
        tf, tb = (rows_t[i][1], rows_t[i][2]) if rows_t else (float("nan"),) * 2

        def cell(sec, fl):
            return f"{sec * 1e3:.3f}" + (f" ({fl / sec / 1e9:.0f})" if fl and sec > 0 else "")

        lines.append(
            f"| {lname} | {cell(ff, flops[i][0])} | {cell(tf, flops[i][0])} | {cell(fb, flops[i][1])} | "
            f"{cell(tb, flops[i][1])} | {tf / ff:.2f}x | " + (f"{tb / fb:.2f}x |" if fb > 0 else "- |")
        )
    lines.append(
        f"| total | {sum(r[1] for r in rows_f) * 1e3:.3f} | "
        f"{sum(r[1] for r in rows_t) * 1e3 if rows_t else float('nan'):.3f} | "
        f"{sum(r[2] for r in rows_f) * 1e3:.3f} | {sum(r[2] for r in rows_t) * 1e3 if rows_t else float('nan'):.3f} "
        "| | |"
    )
    convs_fwd = [(rows_f[i][1], rows_t[i][1] if rows_t else float("nan"))
                 for i, layer in enumerate(net.layers) if isinstance(layer, Conv2D)]
    return "\n".join(lines), convs_fwd


# ----------------------------------------------------------------------------------------------- one shape
def run_shape(name, args, use_torch):
    image, convs, batch = SHAPES[name]
    X, y = make_data(image, args.n_train)
    Xi, _ = make_data(image, args.n_infer, seed=1)
    rng = np.random.default_rng(1)
    fn_state = fastnn_model(image, convs)
    runners = {"fastnn": lambda: fastnn_epoch(fn_state, X, y, rng.permutation(len(X)), batch)}
    infer = {"fastnn": lambda: fastnn_infer(fn_state, Xi)}
    if args.one_range:
        one_state = fastnn_model(image, convs)
        runners["fastnn 1 range"] = one_range(lambda: fastnn_epoch(one_state, X, y, rng.permutation(len(X)), batch))
        infer["fastnn 1 range"] = one_range(lambda: fastnn_infer(one_state, Xi))
    th_state = None
    if use_torch:
        th_state = torch_model(image, convs)
        runners["torch"] = lambda: torch_epoch(th_state, X, y, rng.permutation(len(X)), batch)
        infer["torch"] = lambda: torch_infer(th_state, Xi)
    result = {"train": {}, "infer": {}, "peak": {}, "traced": None}
    if not args.no_train:
        for fn in (*runners.values(), *infer.values()):  # warm-up (compiles fastnn's kernels)
            fn()
        result["train"] = alternate(runners, args.repeats)
        result["infer"] = alternate(infer, args.repeats)
        for impl in ("fastnn", "torch") if args.peak else ():
            if impl in runners:
                result["peak"][impl] = peak_in_fresh_process(impl, name, args)
        order = rng.permutation(len(X))
        result["traced"] = traced_peak(lambda: fastnn_epoch(fastnn_model(image, convs, 1), X, y, order, batch))
    lines = [f"\n### {name}: {image[0]}x{image[1]}x{image[2]}, convs {list(convs)}, batch {batch}, "
             f"{epoch_flops(image, convs, args.n_train) / 1e9:.2f} GFLOP per epoch of {args.n_train}"]
    if not args.no_train:
        lines += ["", "| measure | fastnn | PyTorch | PyTorch / fastnn |", "|---|---|---|---|"]

        def row(label, d, fmt):
            lines.append(f"| {label} | " + " | ".join(cells(d, fmt)) + " |")

        row(f"train epoch ({args.n_train} images)", result["train"], ms)
        row(f"inference ({args.n_infer} images)", result["infer"], ms)
        if args.one_range:
            for label, d in (("train", result["train"]), ("inference", result["infer"])):
                row(f"{label}, fastnn on one range", {"fastnn": d["fastnn 1 range"], "torch": d.get("torch")}, ms)
        if args.peak:
            row("peak RSS above start, first epoch (fresh process)", result["peak"], mib)
        lines.append(f"\nfastnn traced peak (tracemalloc) of a first epoch: {mib(result['traced'])}")
    if args.layers:
        text, fwd = layer_table(name, image, convs, batch, args.repeats_layers, th_state)
        lines.append(text)
        if th_state:
            text, split = split_table(name, image, convs, batch, args.repeats_layers, th_state)
            lines.append(text)
            flops = layer_flops(image, convs)[0]
            result["layers"] = [
                {"conv": conv_label(ci, convs), "flops": flops[ci] * batch, "fwd": fwd[ci], "data": split[ci][0][0],
                 "weights": split[ci][0][1], "torch data": split[ci][1][0], "torch weights": split[ci][1][1]}
                for ci in range(len(convs))
            ]
    print("\n".join(lines), flush=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated subset of " + ",".join(SHAPES))
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per library (default 3)")
    parser.add_argument("--repeats-layers", type=int, default=20, help="timed calls per layer (default 20)")
    parser.add_argument("--n-train", type=int, default=N_TRAIN)
    parser.add_argument("--n-infer", type=int, default=N_INFER)
    parser.add_argument("--threads", type=int, default=2, help="BLAS and torch threads (default 2)")
    parser.add_argument("--layers", action="store_true", help="per-layer forward/backward profile")
    parser.add_argument("--no-train", action="store_true", help="skip the epoch, inference and memory tables")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--no-peak", dest="peak", action="store_false", help="skip the fresh-process memory peaks")
    parser.add_argument("--one-range", action="store_true",
                        help="also time fastnn with every conv/pool pass on one sample range (no thread split)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall: perf_counter; cpu: process_time, CPU seconds of the process (all threads), "
                        "which other processes on the cores inflate far less (use with --threads 1)")
    parser.add_argument("--table", help="also write a summary table (one row per shape), with date, machine and "
                        "command, to this Markdown file")
    parser.add_argument("--layers-table", help="with --layers: also write the per-layer GFLOP/s table of every "
                        "convolution (forward, backward-data, backward-weights), with the core's peak, to this file")
    parser.add_argument("--peak-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import scipy.linalg.cython_blas  # noqa: F401  fastnn's kernels call SciPy's BLAS: loaded before it is limited
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    if args.peak_child:
        if args.peak_child == "torch":
            import torch

            torch.set_num_threads(args.threads)
        return peak_child(args.peak_child, args.shapes, args)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    use_torch = not args.no_torch
    if use_torch:
        try:
            import torch

            torch.set_num_threads(args.threads)
        except ImportError:
            use_torch = False
    print(f"threads {args.threads}, clock {args.clock}; uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    ratios = defaultdict(list)
    results = {}
    for name in args.shapes.split(","):
        res = results[name] = run_shape(name, args, use_torch)
        for what in ("train", "infer", "peak"):
            if res[what].get("torch"):
                ratios[what].append(res[what]["torch"] / res[what]["fastnn"])
    for what, r in ratios.items():
        print(f"\n{what} torch/fastnn: geometric mean {geomean(r):.2f}x, lowest {min(r):.2f}x")
    print(f"uptime at end: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    if args.table:
        write_table(args.table, results, ratios, args)
    if args.layers_table:
        write_layers_table(args.layers_table, results, args, sgemm_gflops(args.threads))


def geomean(values):
    return float(np.exp(np.mean(np.log(values))))


def ms(seconds):
    return f"{seconds * 1e3:.0f} ms"


def mib(nbytes):
    return f"{nbytes / 2**20:.1f} MiB"


def cells(d, fmt):
    """``[fastnn, PyTorch, PyTorch / fastnn]`` of a measure ``{'fastnn': value, 'torch': value}`` ('-' for none)."""
    f, t = d.get("fastnn"), d.get("torch")
    return [fmt(f) if f else "-", fmt(t) if t else "-", f"{t / f:.2f}x" if f and t else "-"]


def write_table(path, results, ratios, args):
    """One row per shape: the epoch, inference and peak memory of both libraries and PyTorch / fastnn (above 1:
    fastnn is faster or smaller); then the geometric means and the lowest ratios."""
    lines = [f"| shape | train fastnn | PyTorch | ratio | inference ({args.n_infer}) fastnn | PyTorch | ratio "
             "| peak fastnn | PyTorch | ratio |", "|---|" + "---|" * 9]
    for name, res in results.items():
        row = cells(res["train"], ms) + cells(res["infer"], ms) + cells(res["peak"], mib)
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    summary = [f"{geomean(ratios[w]):.2f}x (lowest {min(ratios[w]):.2f}x)" if ratios[w] else "-"
               for w in ("train", "infer", "peak")]
    lines.append(f"| geometric mean | | | {summary[0]} | | | {summary[1]} | | | {summary[2]} |")
    write_markdown(path, args, lines)


def write_markdown(path, args, lines):
    """``lines`` to the Markdown file ``path``, after the machine and the command that measured them."""
    command = f"`python benchmarks/cnn_shapes.py {' '.join(sys.argv[1:])}` ({args.threads} threads for both)"
    with open(path, "w") as f:
        f.write("\n".join([f"Machine: {machine_info()}", "", f"Command: {command}", "", *lines]) + "\n")


def sgemm_gflops(threads, n=2048, repeats=5):
    """GFLOP/s of SciPy's OpenBLAS (the BLAS fastnn's kernels call) on an ``n``-cubed float32 GEMM at the current
    thread setting: the ceiling of fastnn's im2col convolutions."""
    from scipy.linalg.blas import sgemm

    a = np.asfortranarray(np.random.default_rng(0).standard_normal((n, n), dtype=np.float32))
    sgemm(1.0, a, a)
    seconds = min(timed(sgemm, 1.0, a, a) for _ in range(repeats))
    return 2 * n**3 / seconds / 1e9


def core_peak():
    """``(float32 FLOP per cycle and core, nominal GHz)`` from ``/proc/cpuinfo``: 32 FLOP a cycle for two 256-bit FMA
    units (AVX2 cores, and AMD's Zen 4, which runs AVX-512 as 256-bit halves), 64 on Intel cores with AVX-512; the
    clock is the nominal one (a virtual machine reports no boost), so the peak it gives is a lower bound. None where
    it cannot be read."""
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        mhz = float(info.split("cpu MHz", 1)[1].split(":", 1)[1].split()[0])
    except (OSError, IndexError, ValueError):
        return None
    return (64 if "avx512f" in info and "GenuineIntel" in info else 32), mhz / 1e3


def write_layers_table(path, results, args, blas):
    """One row per convolution: GFLOP/s of fastnn and PyTorch for the forward (training), backward-data and
    backward-weights (each as many FLOPs as the forward), fastnn's rate as a fraction of PyTorch's and of the
    measured peak (SciPy's OpenBLAS sgemm at the same threads, ``blas``: the ceiling of an im2col convolution; the
    nominal clock's peak is printed above it, a lower bound where the cores boost)."""
    nominal = core_peak()
    how = (f"{nominal[0]} FLOP/cycle x {nominal[1]:.2f} GHz nominal x {args.threads} core(s) = "
           f"{nominal[0] * nominal[1] * args.threads:.0f} GFLOP/s, a lower bound (boost clocks are higher)"
           if nominal else "nominal clock unknown")
    lines = [f"Peak: SciPy's OpenBLAS sgemm (2048^3, float32, the BLAS fastnn's convolutions call) runs "
             f"{blas:.0f} GFLOP/s here, the measured peak; {how}.", "",
             "GFLOP/s (2 per multiply-add); the last columns: fastnn / PyTorch, and fastnn / the sgemm peak.", "",
             "| shape | convolution | forward fastnn | PyTorch | bwd-data fastnn | PyTorch | bwd-weights fastnn | "
             "PyTorch | fastnn / PyTorch (fwd, data, weights) | fastnn / sgemm peak (fwd, data, weights) |",
             "|---|---|" + "---|" * 8]

    def rate(flops, seconds):
        return flops / seconds / 1e9 if seconds and seconds > 0 else None

    for name, res in results.items():
        for layer in res.get("layers", []):
            fl = layer["flops"]
            ours = [rate(fl, layer["fwd"][0]), rate(fl, layer["data"]), rate(fl, layer["weights"])]
            theirs = [rate(fl, layer["fwd"][1]), rate(fl, layer["torch data"]), rate(fl, layer["torch weights"])]
            pairs = [x for pair in zip(ours, theirs) for x in pair]
            vs = [f"{o / t:.2f}" if o and t else "-" for o, t in zip(ours, theirs)]
            of_peak = [f"{o / blas:.0%}" if o else "-" for o in ours]
            lines.append(f"| {name} | {layer['conv']} | " + " | ".join(f"{x:.0f}" if x else "-" for x in pairs)
                         + f" | {', '.join(vs)} | {', '.join(of_peak)} |")
    write_markdown(path, args, lines)


if __name__ == "__main__":
    main()
