"""fastnn against scikit-learn and PyTorch CPU on the speed issue's targets T1-T6, in one run.

    python benchmarks/compare.py                      # full sizes (a few minutes), chart to benchmarks/compare.png
    python benchmarks/compare.py --quick --out /tmp/c.png --table /tmp/c.md    # small sizes, seconds
    python benchmarks/compare.py --profile            # + where fastnn's T2 epoch spends its time
    python benchmarks/compare.py --fresh --cases T1,T2,T3 --no-torch   # the default path, no warm-up

Cases (hyperparameters matched across libraries: relu, adam lr 1e-3, alpha 1e-4 (sklearn/fastnn), shuffled
minibatches, float32 data for all):

- T1: one epoch on digits (1797 x 64), hidden (100,), batch 32.
- T2: one epoch on 60000 x 784 synthetic float32, 10 classes, hidden (100,), batch 200; achieved GFLOP/s counts
  the forward and backward GEMMs (``common.mlp_gflop``: 19.2 GFLOP, no input gradient for the first layer).
- T3: ``predict_proba`` of one row with a digits model (median per call).
- T4: a fresh process that imports fastnn, loads digits and fits one epoch: with an empty ``NUMBA_CACHE_DIR``
  (cold) and with the cache that run filled (warm); wall time including interpreter start-up.
- T5: tracemalloc peak during T2's one-epoch ``fit`` (NumPy allocations are traced; PyTorch's are not).
- T6: one epoch of the CNN of ``benchmarks/cnn_epoch.py`` (10,000 images 1x28x28, batch 64).
- T6b, T6c (only when asked for, ``--cases T6,T6b,T6c``): one epoch of two more CNNs of
  ``benchmarks/cnn_shapes.py``, as T6 on as many images: ``cifar5`` (3x32x32, a 5x5 first layer of 32 filters,
  3x3 64, batch 64) and ``wide`` (1x28x28, a single 3x3 convolution of 64 filters, batch 128). That script
  has the whole shape family with inference, memory and per-layer tables.

scikit-learn and fastnn epochs are ``partial_fit`` calls on an already fitted estimator (exactly one shuffled
pass, no initialisation, no compilation); PyTorch's is the usual loop (permutation, index, zero_grad, forward,
CrossEntropyLoss, backward, Adam step) over nn.Linear(784, 100)-ReLU-Linear(100, 10) with
``torch.set_num_threads(2)``. Within each repeat the implementations run one after another in a rotating order
(alternating), so a slow phase of the machine hits all of them; the table shows medians over repeats.
PyTorch is used when importable; it is never a dependency of fastnn.

``--fresh`` measures the path a new user gets by default: the run moves to a fresh interpreter with an empty
``NUMBA_CACHE_DIR``, no warm-up, and fastnn keeps ``fused='auto'`` (instead of ``fused=True``), so its epochs run
layer by layer until the background compile of the fused epoch lands (see ``benchmarks/first_fit.py --fresh`` for
whole fits, later processes and grid searches).
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict

import numpy as np

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable from the repository root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common  # noqa: E402
from benchmarks.common import machine_info, torch_available  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = ["sklearn", "torch"]
LABELS = {"fastnn": "fastnn", "sklearn": "scikit-learn", "torch": "PyTorch"}
COLORS = {"fastnn": "#d62728", "sklearn": "#1f77b4", "torch": "#ff7f0e"}
# Goals of the speed issue: the peer time divided by fastnn's time must reach these speed-ups.
GOALS = {
    "T1": ({"sklearn": 10.0}, "<= 1/10 of scikit-learn"),
    "T2": ({"sklearn": 2.5, "torch": 2.0}, "<= 1/2.5 of scikit-learn, <= 1/2 of PyTorch"),
    "T3": ({"sklearn": 10.0}, "<= 1/10 of scikit-learn"),
    "T4": ({}, "<= 1.5 s warm cache, <= 15 s empty cache"),
    "T5": ({"sklearn": 1.0}, "<= scikit-learn's"),
    "T6": ({"torch": 1.0}, "<= PyTorch"),
    "T6b": ({"torch": 1.0}, "<= PyTorch"),
    "T6c": ({"torch": 1.0}, "<= PyTorch"),
}
# Extra CNN cases: compare.py case -> benchmarks/cnn_shapes.py shape.
CNN_SHAPES = {"T6b": "cifar5", "T6c": "wide"}

SIZES = {
    # name: (T1 rows, T2 rows, T6 images, repeats, T3 calls per repeat, T4 warm runs)
    "full": (1797, 60000, 10000, 5, 200, 5),
    "quick": (600, 2000, 128, 2, 20, 1),
}


# --------------------------------------------------------------------------------------------- PyTorch
class TorchMLP:
    """nn.Linear(n_in, hidden)-ReLU-nn.Linear(hidden, 10), CrossEntropyLoss, Adam: the T1/T2 peer."""

    def __init__(self, n_in, hidden=100, n_classes=10, batch_size=200, lr=1e-3, seed=0):
        import torch
        from torch import nn

        torch.manual_seed(seed)
        self.torch = torch
        self.model = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.loss_fn = nn.CrossEntropyLoss()
        self.batch_size = batch_size
        self.gen = torch.Generator().manual_seed(seed)

    def epoch(self, X, y):
        torch = self.torch
        Xt, yt = torch.from_numpy(np.asarray(X)), torch.from_numpy(np.asarray(y))
        order = torch.randperm(len(Xt), generator=self.gen)
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.model(Xt[idx]), yt[idx])
            loss.backward()
            self.opt.step()


# --------------------------------------------------------------------------------------------- timing
def alternate(runners, repeats, log, name):
    """Median seconds of each runner; every repeat runs all runners, in an order rotated by the repeat."""
    times = defaultdict(list)
    impls = list(runners)
    for r in range(repeats):
        order = impls[r % len(impls):] + impls[: r % len(impls)]
        for impl in order:
            t0 = time.perf_counter()
            runners[impl]()
            times[impl].append(time.perf_counter() - t0)
        log(f"  {name} repeat {r}: " + "  ".join(f"{i} {times[i][-1]:.4f} s" for i in impls))
    return {impl: float(np.median(ts)) for impl, ts in times.items()}


def mlp_runners(X, y, batch_size, impls, warm):
    """Epoch closures for every available implementation, each warmed up with one untimed epoch."""
    runners = {}
    for impl in impls:
        if impl == "torch":
            net = TorchMLP(X.shape[1], batch_size=batch_size)
            net.epoch(X, y)
            runners[impl] = lambda net=net: net.epoch(X, y)
        else:
            try:
                est = common.prepare_epoch(impl, X, y, batch_size=batch_size)
            except NotImplementedError as exc:
                warm.append(f"{impl}: {exc}")
                continue
            runners[impl] = lambda est=est: common.one_epoch(est, X, y)
    return runners


def case_t1(sizes, impls, log, notes):
    X, y = common.digits()
    n = sizes[0]
    X, y = X[:n], y[:n]
    return {"time": alternate(mlp_runners(X, y, 32, impls, notes), sizes[3], log, "T1")}


def case_t2(sizes, impls, log, notes):
    X, y = common.synthetic(sizes[1])
    med = alternate(mlp_runners(X, y, 200, impls, notes), sizes[3], log, "T2")
    gflop = common.mlp_gflop(len(X), (X.shape[1], 100, 10))
    return {"time": med, "gflops": {impl: gflop / t for impl, t in med.items()}, "gflop": gflop}


def case_t3(sizes, impls, log, notes):
    X, y = common.digits()
    row = np.array(X[:1])
    calls = sizes[4]
    runners = {}
    for impl in impls:
        if impl == "torch":
            continue
        try:
            est = common.prepare_epoch(impl, X, y)
        except NotImplementedError as exc:
            notes.append(f"{impl}: {exc}")
            continue

        def run(est=est):
            for _ in range(calls):
                est.predict_proba(row)

        runners[impl] = run
    med = alternate(runners, max(sizes[3], 5), log, "T3")
    return {"time": {impl: t / calls for impl, t in med.items()}}


def case_t4(sizes, impls, log, notes, cold=True):
    if "fastnn" not in impls or not common.fastnn_has_estimator():
        return {"time": {}}
    cache_dir = tempfile.mkdtemp(prefix="fastnn-compare-")
    try:
        out = {}
        if cold:
            out["cold"] = common.run_start(cache_dir)
            log(f"  T4 cold start (empty NUMBA_CACHE_DIR): {out['cold']:.2f} s")
        else:
            common.run_start(cache_dir)
        warm = [common.run_start(cache_dir) for _ in range(sizes[5])]
        out["warm"] = float(np.median(warm))
        log(f"  T4 warm start: " + "  ".join(f"{t:.2f} s" for t in warm))
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    return {"start": out}


def case_t5(sizes, impls, log, notes):
    X, y = common.synthetic(sizes[1])
    peaks = {}
    for impl in impls:
        if impl == "torch":
            continue
        try:
            common.warm_up(impl, batch_size=200)
        except NotImplementedError:
            continue
        peaks[impl] = common.traced_peak(common.fit_one_epoch, impl, X, y, batch_size=200)
        log(f"  T5 {impl} traced peak {peaks[impl] / 2**20:.1f} MiB")
    return {"bytes": peaks, "data_bytes": X.nbytes}


def case_t6(sizes, impls, log, notes):
    try:
        from benchmarks import cnn_epoch
    except ImportError as exc:
        notes.append(f"T6: the CNN benchmark is not importable ({exc})")
        return {"time": {}}
    X, y = cnn_epoch.make_data()
    n = sizes[2]
    X, y = X[:n], y[:n]
    rng = np.random.default_rng(1)
    runners = {}
    for impl in impls:
        if impl == "sklearn":
            continue
        state, epoch = (cnn_epoch.fastnn_model(), cnn_epoch.fastnn_epoch) if impl == "fastnn" else (
            cnn_epoch.torch_model(), cnn_epoch.torch_epoch)
        epoch(state, X, y, rng.permutation(n))  # warm-up: compiles / loads fastnn's kernels
        runners[impl] = lambda state=state, epoch=epoch: epoch(state, X, y, rng.permutation(n))
    med = alternate(runners, sizes[3], log, "T6")
    gflop = cnn_epoch.epoch_flops(n) / 1e9
    return {"time": med, "gflops": {impl: gflop / t for impl, t in med.items()}, "gflop": gflop}


def case_cnn_shape(case):
    """The runner of a ``CNN_SHAPES`` case: T6's measurement on a ``benchmarks/cnn_shapes.py`` network."""

    def run(sizes, impls, log, notes):
        try:
            from benchmarks import cnn_shapes
        except ImportError as exc:
            notes.append(f"{case}: the CNN benchmark is not importable ({exc})")
            return {"time": {}}
        image, convs, batch = cnn_shapes.SHAPES[CNN_SHAPES[case]]
        n = sizes[2]
        X, y = cnn_shapes.make_data(image, n)
        rng = np.random.default_rng(1)
        runners = {}
        for impl in impls:
            if impl == "sklearn":
                continue
            state, epoch = (cnn_shapes.fastnn_model(image, convs), cnn_shapes.fastnn_epoch) if impl == "fastnn" \
                else (cnn_shapes.torch_model(image, convs), cnn_shapes.torch_epoch)
            epoch(state, X, y, rng.permutation(n), batch)  # warm-up: compiles / loads fastnn's kernels
            runners[impl] = lambda state=state, epoch=epoch: epoch(state, X, y, rng.permutation(n), batch)
        med = alternate(runners, sizes[3], log, case)
        gflop = cnn_shapes.epoch_flops(image, convs, n) / 1e9
        return {"time": med, "gflops": {impl: gflop / t for impl, t in med.items()}, "gflop": gflop}

    return run


# --------------------------------------------------------------------------------------------- report
def fmt_time(seconds):
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def speedup(res, peer):
    t = res.get("time", {})
    if "fastnn" in t and peer in t:
        return t[peer] / t["fastnn"]
    return None


def verdict(case, res):
    goals = GOALS[case][0]
    if case == "T4":
        s = res.get("start", {})
        if "warm" not in s:
            return "-"
        ok = s["warm"] <= 1.5 and s.get("cold", 0.0) <= 15.0
        return "yes" if ok else "no"
    if case == "T5":
        b = res.get("bytes", {})
        if "fastnn" in b and "sklearn" in b:
            return "yes" if b["fastnn"] <= b["sklearn"] else "no"
        return "-"
    checks = [speedup(res, peer) >= need for peer, need in goals.items() if speedup(res, peer) is not None]
    if not checks:
        return "-"
    return "yes" if all(checks) else "no"


def case_names(sizes):
    return {
        "T1": f"T1 digits epoch ({sizes[0]}x64, h100, batch 32)",
        "T2": f"T2 synthetic epoch ({sizes[1]}x784, h100, batch 200)",
        "T3": "T3 predict_proba, 1 row",
        "T4": "T4 fresh process: import + 1-epoch digits fit",
        "T5": f"T5 traced peak memory of T2's fit ({sizes[1]} rows)",
        "T6": f"T6 CNN epoch ({sizes[2]}x1x28x28, batch 64)",
        "T6b": f"T6b CNN epoch ({sizes[2]}x3x32x32, 5x5 first layer, batch 64)",
        "T6c": f"T6c wide CNN epoch ({sizes[2]}x1x28x28, one 3x3 conv of 64, batch 128)",
    }


def table(results, sizes):
    lines = [
        "| case | fastnn | scikit-learn | PyTorch | scikit-learn / fastnn | PyTorch / fastnn | GFLOP/s "
        "(fastnn / sklearn / torch) | goal | met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    names = case_names(sizes)
    for case, res in results.items():
        name = names[case]
        cells = {impl: "-" for impl in ["fastnn", *PEERS]}
        ratios = {peer: "-" for peer in PEERS}
        gfl = "-"
        if case == "T4":
            s = res.get("start", {})
            parts = []
            if "warm" in s:
                parts.append(f"warm {fmt_time(s['warm'])}")
            if "cold" in s:
                parts.append(f"cold {fmt_time(s['cold'])}")
            cells["fastnn"] = ", ".join(parts) or "n/a"
        elif case == "T5":
            b = res.get("bytes", {})
            for impl, v in b.items():
                cells[impl] = f"{v / 2**20:.1f} MiB"
            if "fastnn" in b and "sklearn" in b and b["fastnn"]:
                ratios["sklearn"] = f"{b['sklearn'] / b['fastnn']:.2f}x"
            cells["torch"] = "-"
        else:
            for impl, t in res.get("time", {}).items():
                cells[impl] = fmt_time(t)
            for peer in PEERS:
                s = speedup(res, peer)
                if s is not None:
                    ratios[peer] = f"{s:.2f}x"
            if "gflops" in res:
                g = res["gflops"]
                gfl = " / ".join(f"{g[i]:.1f}" if i in g else "-" for i in ["fastnn", *PEERS])
        lines.append(
            f"| {name} | {cells['fastnn']} | {cells['sklearn']} | {cells['torch']} | {ratios['sklearn']} | "
            f"{ratios['torch']} | {gfl} | {GOALS[case][1]} | {verdict(case, res)} |"
        )
    return "\n".join(lines)


def chart(results, path, sizes, sizes_name):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    for case, res in results.items():
        if case == "T4":
            s = res.get("start", {})
            data = {f"fastnn {k}": v for k, v in s.items()}
            panels.append((case, "seconds", data, {k: COLORS["fastnn"] for k in data}))
        elif case == "T5":
            data = {LABELS[i]: v / 2**20 for i, v in res.get("bytes", {}).items()}
            panels.append((case, "MiB (traced peak)", data, {LABELS[i]: COLORS[i] for i in res.get("bytes", {})}))
        else:
            t = res.get("time", {})
            unit, scale = ("us", 1e6) if case == "T3" else ("ms", 1e3) if case == "T1" else ("s", 1.0)
            data = {LABELS[i]: v * scale for i, v in t.items()}
            panels.append((case, f"{unit} (median, lower is better)", data, {LABELS[i]: COLORS[i] for i in t}))
    rows = max(2, -(-len(panels) // 3))
    fig, axes = plt.subplots(rows, 3, figsize=(13, 3.5 * rows))
    for ax, (case, ylabel, data, colors) in zip(axes.flat, panels):
        names = list(data)
        vals = [data[n] for n in names]
        bars = ax.bar(names, vals, color=[colors[n] for n in names])
        ax.bar_label(bars, labels=[f"{v:.3g}" for v in vals], fontsize=8)
        ax.set_title(case_names(sizes)[case], fontsize=9)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=8)
        if not names:
            ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    quick = " [--quick sizes]" if sizes_name == "quick" else ""
    fig.suptitle(f"fastnn vs scikit-learn vs PyTorch CPU (lower is better){quick}")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def profile_t2(sizes):
    import cProfile
    import pstats

    X, y = common.synthetic(sizes[1])
    est = common.prepare_epoch("fastnn", X, y, batch_size=200)
    prof = cProfile.Profile()
    prof.runcall(common.one_epoch, est, X, y)
    print("\ncProfile of one fastnn T2 epoch (top 20 by internal time):")
    pstats.Stats(prof).sort_stats("tottime").print_stats(20)


def _rerun_fresh(argv):
    """Run this script again in a fresh interpreter with an empty kernel cache and fastnn's default path."""
    import subprocess

    cache = tempfile.mkdtemp(prefix="fastnn-fresh-")
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, common.DEFAULT_PATH_ENV: "1"}
    try:
        subprocess.run([sys.executable, os.path.abspath(__file__), *argv], env=env, check=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes and 2 repeats (seconds; for tests)")
    parser.add_argument("--out", default=os.path.join(HERE, "compare.png"), help="bar chart PNG path")
    parser.add_argument("--table", help="also write the Markdown table (with the machine line) to this file")
    parser.add_argument("--repeats", type=int, help="timed repeats per case (default 5, 2 with --quick)")
    parser.add_argument("--cases", default="T1,T2,T3,T4,T5,T6",
                        help="comma-separated subset of T1..T6, T6b, T6c (the last two only when named)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even when importable")
    parser.add_argument("--no-cold", action="store_true", help="T4: skip the empty-cache run (it compiles all)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one fastnn T2 epoch")
    parser.add_argument("--fresh", action="store_true",
                        help="the default path: a fresh interpreter, empty kernel cache, fused='auto'")
    args = parser.parse_args(argv)
    if args.fresh:
        return _rerun_fresh([a for a in (argv if argv is not None else sys.argv[1:]) if a != "--fresh"])

    sizes_name = "quick" if args.quick else "full"
    sizes = list(SIZES[sizes_name])
    if args.repeats:
        sizes[3] = args.repeats
    impls = ["fastnn", "sklearn"]
    if not args.no_torch and torch_available():
        import torch

        torch.set_num_threads(2)
        impls.append("torch")
    common.quiet()

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    header = machine_info()
    log(header)
    notes = []
    funcs = {"T1": case_t1, "T2": case_t2, "T3": case_t3, "T5": case_t5, "T6": case_t6,
             **{case: case_cnn_shape(case) for case in CNN_SHAPES}}
    results = {}
    canonical = {case.upper(): case for case in GOALS}  # "t6B" -> "T6b"
    for case in [canonical.get(c.strip().upper(), c.strip()) for c in args.cases.split(",")]:
        log(f"{case} ...")
        if case == "T4":
            results[case] = case_t4(sizes, impls, log, notes, cold=not args.no_cold)
        else:
            results[case] = funcs[case](sizes, impls, log, notes)
    text = table(results, sizes)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    foot = [f"Machine: {header}; load average at end {load}", f"Command: `{('python benchmarks/compare.py ' + ' '.join(argv or sys.argv[1:])).rstrip()}`"]
    if os.environ.get(common.DEFAULT_PATH_ENV):
        notes.insert(0, "--fresh: fastnn's default path (fused='auto', empty kernel cache, no warm-up)")
    foot += [f"Note: {n}" for n in dict.fromkeys(notes)]
    print(text)
    print()
    print("\n\n".join(foot))
    if args.table:
        with open(args.table, "w") as f:
            f.write(text + "\n\n" + "\n\n".join(foot) + "\n")
    try:
        chart(results, args.out, sizes, sizes_name)
        log(f"chart written to {args.out}")
    except ImportError:
        log("matplotlib is not installed (pip install -e '.[bench]'): no chart written")
    if args.profile and "fastnn" in impls and common.fastnn_has_estimator():
        profile_t2(sizes)
    return results


if __name__ == "__main__":
    main()
