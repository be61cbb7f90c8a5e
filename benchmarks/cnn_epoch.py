"""One training epoch of a small CNN on 10,000 random 1x28x28 images: fastnn against PyTorch CPU.

Network (both libraries): Conv2D(16, 3, 'same') -> ReLU -> MaxPool2D(2) -> Conv2D(32, 3, 'same') -> ReLU ->
MaxPool2D(2) -> Flatten -> Dense(10), softmax cross-entropy, Adam(1e-3), batch 64, float32, shuffled batches.
The two libraries run alternately in one process (after a warm-up epoch each, which also compiles fastnn's
kernels) and we report the median epoch time of each, their ratio and the achieved GFLOP/s, counting the
multiply-adds of the convolutions and the dense layer (forward, dW and dx; no dx for the first conv).

    python benchmarks/cnn_epoch.py                 # fastnn vs torch, 5 epochs each
    python benchmarks/cnn_epoch.py --repeats 3 --no-torch
    python benchmarks/cnn_epoch.py --layers        # + per-layer forward/backward seconds for one epoch
    python benchmarks/cnn_epoch.py --profile       # + cProfile of one fastnn epoch
    python benchmarks/cnn_epoch.py --threads 1     # BLAS and torch limited to one thread each

On a 2-core machine shared with other processes, 2-thread GEMMs (OpenBLAS and torch alike) can lose 10x
while waiting for a descheduled thread; ``--threads 1`` gives stable numbers for both libraries.

PyTorch is optional (``pip install torch``); it is never a dependency of fastnn.
"""
import argparse
import cProfile
import pstats
import time
from collections import defaultdict

import numpy as np

from fastnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from fastnn.losses import SoftmaxCrossEntropy
from fastnn.network import Sequential
from fastnn.optimizers import Adam

N_SAMPLES, BATCH, SHAPE, LR = 10_000, 64, (1, 28, 28), 1e-3


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_SAMPLES, *SHAPE)).astype(np.float32)
    y = rng.integers(0, 10, N_SAMPLES)
    return X, y


def epoch_flops(n=N_SAMPLES):
    """Floating-point operations of one epoch: 2 per multiply-add, 3 GEMMs per layer (2 for the first)."""
    conv1 = 2 * 16 * (1 * 9) * 28 * 28  # forward, per sample
    conv2 = 2 * 32 * (16 * 9) * 14 * 14
    dense = 2 * 32 * 7 * 7 * 10
    return n * (2 * conv1 + 3 * conv2 + 3 * dense)


# ----------------------------------------------------------------------------------------------- fastnn
def fastnn_model(seed=0):
    layers = [
        Conv2D(16, 3, padding="same"), ReLU(), MaxPool2D(2),
        Conv2D(32, 3, padding="same"), ReLU(), MaxPool2D(2),
        Flatten(), Dense(10),
    ]
    net = Sequential(layers, SoftmaxCrossEntropy(), optimizer=Adam(LR))
    return net.build(SHAPE, np.float32, seed)


def fastnn_epoch(net, X, y, order):
    for i in range(0, len(order), BATCH):
        idx = order[i : i + BATCH]
        net.train_step(X[idx], y[idx])


# ----------------------------------------------------------------------------------------------- torch
def torch_model(seed=0):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )
    return model, torch.optim.Adam(model.parameters(), lr=LR), nn.CrossEntropyLoss()


def torch_epoch(state, X, y, order):
    import torch

    model, opt, loss_fn = state
    Xt, yt, ot = torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(order)
    for i in range(0, len(order), BATCH):
        idx = ot[i : i + BATCH]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(Xt[idx]), yt[idx])
        loss.backward()
        opt.step()


# ----------------------------------------------------------------------------------------------- tools
def timed(fn, *args):
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def layer_breakdown(net, X, y, order):
    """Seconds spent in each layer's forward and backward (and the rest) during one epoch."""
    totals = defaultdict(float)
    originals = []
    for i, layer in enumerate(net.layers):
        for kind in ("forward", "backward"):
            method = getattr(layer, kind)
            originals.append((layer, kind))

            def wrapper(*a, _m=method, _key=f"{i}:{layer!r}.{kind}", **k):
                t = time.perf_counter()
                r = _m(*a, **k)
                totals[_key] += time.perf_counter() - t
                return r

            setattr(layer, kind, wrapper)
    total = timed(fastnn_epoch, net, X, y, order)
    for layer, kind in originals:
        delattr(layer, kind)
    print(f"\nper-layer seconds in one fastnn epoch (total {total:.3f} s):")
    for key, sec in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {sec:7.3f}  {key}")
    print(f"  {total - sum(totals.values()):7.3f}  loss, optimizer, batch gathering, Python")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per library (default 5)")
    parser.add_argument("--no-torch", action="store_true", help="time fastnn only")
    parser.add_argument("--layers", action="store_true", help="print a per-layer breakdown of one epoch")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one fastnn epoch")
    parser.add_argument("--threads", type=int, default=None, help="limit BLAS and torch to this many threads")
    args = parser.parse_args()
    if args.threads is not None:
        import scipy.linalg.cython_blas  # noqa: F401  fastnn's kernels call SciPy's BLAS: loaded before it is limited
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)  # kept for the whole run

    X, y = make_data()
    rng = np.random.default_rng(1)
    runners = {"fastnn": (fastnn_epoch, fastnn_model())}
    if not args.no_torch:
        try:
            import torch

            if args.threads is not None:
                torch.set_num_threads(args.threads)
            runners["torch"] = (torch_epoch, torch_model())
            print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        except ImportError:
            print("torch is not installed: timing fastnn only")

    for name, (epoch, state) in runners.items():  # warm-up: compiles / loads fastnn's kernels
        print(f"warm-up {name}: {timed(epoch, state, X, y, rng.permutation(N_SAMPLES)):.3f} s")

    times = defaultdict(list)
    for r in range(args.repeats):
        order = rng.permutation(N_SAMPLES)
        for name, (epoch, state) in runners.items():
            times[name].append(timed(epoch, state, X, y, order))
        print("epoch", r, " ".join(f"{name} {times[name][-1]:.3f} s" for name in runners))

    flops = epoch_flops()
    print(f"\n{N_SAMPLES} images, batch {BATCH}, {flops / 1e9:.1f} GFLOP per epoch; median of {args.repeats}:")
    for name in runners:
        med = float(np.median(times[name]))
        print(f"  {name:7s} {med:.3f} s/epoch  {flops / med / 1e9:6.1f} GFLOP/s")
    if "torch" in runners:
        ratio = np.median(times["fastnn"]) / np.median(times["torch"])
        print(f"  fastnn / torch time ratio: {ratio:.2f} ({'faster' if ratio < 1 else 'slower'} than torch)")

    net = runners["fastnn"][1]
    if args.layers:
        layer_breakdown(net, X, y, rng.permutation(N_SAMPLES))
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(fastnn_epoch, net, X, y, rng.permutation(N_SAMPLES))
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
