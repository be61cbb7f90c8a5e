"""Inference through onnxruntime (the graph of ``fastnn.onnx``) against fastnn's own ``predict_proba``.

Models, fitted on digits (1797 x 64, scaled to [0, 1], float32): the T3 MLP (hidden (100,), relu) and a CNN on
the 8x8 images (Conv2D(16, 3) -> ReLU -> MaxPool2D(2) -> Conv2D(32, 3) -> ReLU -> MaxPool2D(2) -> Dense(10)).
Each is timed on one row and on the whole set (1797 rows): fastnn's ``predict_proba`` against
``InferenceSession.run`` fetching the probabilities of the graph exported with ``zipmap=False``.

As an asv suite, ``OnnxInference`` (skipped where onnxruntime is not installed). As a script, each implementation
is measured in a process of its own (onnxruntime's worker threads spin between runs, on the cores that fastnn's
threads and BLAS's need, so one process holding both slowed fastnn's 1797-row predictions tenfold), the processes
alternating, and the table gives the median per call and the ratio::

    python benchmarks/bench_onnx.py                  # default threads (onnxruntime: one per core)
    python benchmarks/bench_onnx.py --threads 1      # onnxruntime and BLAS limited to one thread
    python benchmarks/bench_onnx.py --quick          # fewer repeats

For the CNN on 1797 rows the table adds a floor row: the convolutions' matrix products alone, as fastnn's inference
makes them (the shapes and chunks of ``kernels.conv.conv_infer_cl``, the same BLAS call, the batch split over the
same threads), and no other work: fastnn's inference cannot run faster than that with this BLAS.

Needs the ``onnx`` extra (``pip install fastnn[onnx]``).
"""
import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable from the repository root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import digits, machine_info, quiet  # noqa: E402

MODELS = ["mlp", "cnn"]
IMPLS = ["fastnn", "onnxruntime"]


def fit_model(name):
    """A digits model fitted for a few epochs (the weights' values do not change inference time)."""
    import fastnn

    quiet()
    X, y = digits()
    if name == "mlp":
        est = fastnn.MLPClassifier((100,), max_iter=5, random_state=0)
    else:
        est = fastnn.CNNClassifier(((16, 3), (32, 3)), max_iter=2, random_state=0)
    return est.fit(X, y)


def session(est, threads=None):
    """``run(X) -> probabilities`` through onnxruntime for the exported ``est``."""
    try:
        import onnxruntime as ort

        import fastnn.onnx
    except ImportError as exc:
        raise NotImplementedError(f"the onnx extra is not installed ({exc})") from exc
    X = digits()[0]
    onx = fastnn.onnx.to_onnx(est, X, options={id(est): {"zipmap": False}})
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = opts.inter_op_num_threads = threads
    sess = ort.InferenceSession(onx.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return lambda rows: sess.run(["probabilities"], {name: rows})[0]


def predictors(model, threads=None):
    est = fit_model(model)
    return {"fastnn": est.predict_proba, "onnxruntime": session(est, threads)}


class OnnxInference:
    """``predict_proba`` of one row and of 1797 rows, fastnn or onnxruntime."""

    params = (IMPLS, MODELS)
    param_names = ["impl", "model"]
    timeout = 300

    def setup(self, impl, model):
        self.predict = predictors(model)[impl]
        X = digits()[0]
        self.row, self.batch = np.array(X[:1]), np.array(X)
        self.predict(self.row)

    def time_one_row(self, impl, model):
        self.predict(self.row)

    def time_batch(self, impl, model):
        self.predict(self.batch)


# ---------------------------------------------------------------------------------------------- script
def gemm_floor(est):
    """``run(rows)``: the convolutions' BLAS products of ``est``'s channels-last inference on ``rows`` and nothing
    else (random operands of the same shapes, the same chunks, the batch split over the same threads, BLAS at one)."""
    from fastnn.kernels import conv as _conv
    from fastnn.kernels._jit import jit
    from fastnn.kernels.blas import gemm
    from fastnn.layers import Conv2D
    from fastnn.layers.threads import blas_at_most, run, split

    @jit
    def products(cols, Wr, out, chunks):
        for _ in range(chunks):
            gemm(cols, Wr.T, out)

    net = est.network_
    rng = np.random.default_rng(0)
    convs = [layer for layer in net.layers if isinstance(layer, Conv2D)]
    work = sum(c.filters * c._K * c._P for c in convs)

    def one_range(n):
        for c in convs:
            nc = _conv.chunk_rows(c._P)
            m, K = nc * c._P, c._K
            cols_t = _conv.transposed(c.input_shape[0], c.stride[1])
            cols = rng.random((K, m) if cols_t else (m, K), dtype=np.float32)
            operand = cols.T if cols_t else cols
            products(operand, rng.random((c.filters, K), dtype=np.float32), np.empty((m, c.filters), np.float32),
                     -(-n // nc))

    def floor(rows):
        with blas_at_most(1):
            run(lambda t, a, b: one_range(b - a), split(rows.shape[0], work))

    return floor


def measure_here(impl, threads, repeats, quick):
    """``{"model/case": median seconds per call}`` of one implementation (``fastnn``, ``onnxruntime`` or ``floor``,
    the CNN's matrix products alone) in this process: after a warm-up, ``repeats`` timings of a few calls each."""
    X = digits()[0]
    cases = {"one row": (np.array(X[:1]), 20 if quick else 200), f"{len(X)} rows": (np.array(X), 2 if quick else 10)}
    models = {model: fit_model(model) for model in (["cnn"] if impl == "floor" else MODELS)}
    if threads:
        # after the fits: Numba's GEMMs use SciPy's BLAS, loaded with the first compiled kernel
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(threads)  # noqa: F841 (kept for the whole measurement)
    result = {}
    for model, est in models.items():
        fn = {"fastnn": lambda: est.predict_proba, "onnxruntime": lambda: session(est, threads),
              "floor": lambda: gemm_floor(est)}[impl]()
        for case, (rows, inner) in cases.items():
            if impl == "floor" and rows.shape[0] == 1:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(3):  # warm-up: compilation, first-run allocations
                    fn(rows)
                times = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    for _ in range(inner):
                        fn(rows)
                    times.append((time.perf_counter() - t0) / inner)
            result[f"{model}/{case}"] = float(np.median(times))
    return result


def _fmt(seconds):
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime and BLAS threads (default: theirs)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (seconds instead of a minute)")
    parser.add_argument("--table", help="also write the Markdown table, with date, machine and command, to this file")
    parser.add_argument("--child", choices=IMPLS + ["floor"], help=argparse.SUPPRESS)  # one measuring process
    args = parser.parse_args(argv)
    repeats = 5 if args.quick else 21
    if args.child:
        print(json.dumps(measure_here(args.child, args.threads, repeats, args.quick)))
        return None
    rounds = 2 if args.quick else 5
    lines = [f"Machine: {machine_info()}; threads: {args.threads or 'default'}; median over {rounds} alternating "
             f"processes per implementation of the medians of {repeats} timings", "",
             "Command: `python benchmarks/bench_onnx.py " + " ".join(sys.argv[1:] if argv is None else argv) + "`",
             "", "| model | rows | fastnn predict_proba | onnxruntime | fastnn / onnxruntime |",
             "|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    runs = {impl: [] for impl in IMPLS + ["floor"]}
    child = [sys.executable, os.path.abspath(__file__), "--child"]
    extra = (["--threads", str(args.threads)] if args.threads else []) + (["--quick"] if args.quick else [])
    for r in range(rounds):
        order = list(runs)[r % len(runs):] + list(runs)[: r % len(runs)]
        for impl in order:
            out = subprocess.run([*child, impl, *extra], capture_output=True, text=True, check=True).stdout
            runs[impl].append(json.loads(out.strip().splitlines()[-1]))
    results = {impl: {key: float(np.median([run[key] for run in done])) for key in done[0]}
               for impl, done in runs.items()}
    for key, t in results["fastnn"].items():
        model, case = key.split("/")
        ort = results["onnxruntime"][key]
        lines.append(f"| {model} | {case} | {_fmt(t)} | {_fmt(ort)} | {t / ort:.2f} |")
        if key in results["floor"]:
            floor = results["floor"][key]
            lines.append(f"| cnn: floor, fastnn's matrix products alone | {case} | {_fmt(floor)} | {_fmt(ort)} | "
                         f"{floor / ort:.2f} |")
    print("\n".join(lines[6:]))
    print(f"load after: {os.getloadavg()[0]:.2f}")
    if args.table:
        with open(args.table, "w") as f:
            f.write("\n".join(lines) + "\n")
    return results


if __name__ == "__main__":
    main()
