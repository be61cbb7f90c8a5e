"""Inference through onnxruntime (the graph of ``fastnn.onnx``) against fastnn's own ``predict_proba``.

Models, fitted on digits (1797 x 64, scaled to [0, 1], float32): the T3 MLP (hidden (100,), relu) and a CNN on
the 8x8 images (Conv2D(16, 3) -> ReLU -> MaxPool2D(2) -> Conv2D(32, 3) -> ReLU -> MaxPool2D(2) -> Dense(10)).
Each is timed on one row and on the whole set (1797 rows): fastnn's ``predict_proba`` against
``InferenceSession.run`` fetching the probabilities of the graph exported with ``zipmap=False``.

As an asv suite, ``OnnxInference`` (skipped where onnxruntime is not installed). As a script, the two run
alternately in one process, after a warm-up, and the table gives the median per call and the ratio::

    python benchmarks/bench_onnx.py                  # default threads (onnxruntime: one per core)
    python benchmarks/bench_onnx.py --threads 1      # onnxruntime and BLAS limited to one thread
    python benchmarks/bench_onnx.py --quick          # fewer repeats

Needs the ``onnx`` extra (``pip install fastnn[onnx]``).
"""
import argparse
import os
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
def measure(funcs, rows, repeats, inner):
    """Median seconds per call of each function on ``rows``: ``repeats`` rounds, the functions in a rotating
    order within each round, ``inner`` calls timed together per function and round."""
    times = {name: [] for name in funcs}
    names = list(funcs)
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            fn = funcs[name]
            t0 = time.perf_counter()
            for _ in range(inner):
                fn(rows)
            times[name].append((time.perf_counter() - t0) / inner)
    return {name: float(np.median(t)) for name, t in times.items()}


def _fmt(seconds):
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime and BLAS threads (default: theirs)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (seconds instead of a minute)")
    parser.add_argument("--table", help="also write the Markdown table, with date, machine and command, to this file")
    args = parser.parse_args(argv)
    repeats = 5 if args.quick else 21
    X = digits()[0]
    cases = {"one row": (np.array(X[:1]), 20 if args.quick else 200), f"{len(X)} rows": (np.array(X), 2 if args.quick else 10)}
    lines = [f"Machine: {machine_info()}; threads: {args.threads or 'default'}; median of {repeats} alternating "
             "rounds per cell", "", "Command: `python benchmarks/bench_onnx.py "
             + " ".join(sys.argv[1:] if argv is None else argv) + "`", "",
             "| model | rows | fastnn predict_proba | onnxruntime | fastnn / onnxruntime |", "|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    results = {}
    models = {model: predictors(model, args.threads) for model in MODELS}
    if args.threads:
        # after the fits: Numba's GEMMs use SciPy's BLAS, loaded with the first compiled kernel
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(args.threads)  # noqa: F841 (kept for the whole measurement)
    for model, funcs in models.items():
        for case, (rows, inner) in cases.items():
            for fn in funcs.values():  # warm-up: compilation, first-run allocations
                fn(rows)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = measure(funcs, rows, repeats, inner)
            results[(model, case)] = t
            lines.append(f"| {model} | {case} | {_fmt(t['fastnn'])} | {_fmt(t['onnxruntime'])} | "
                         f"{t['fastnn'] / t['onnxruntime']:.2f} |")
            print(lines[-1], flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")
    if args.table:
        with open(args.table, "w") as f:
            f.write("\n".join(lines) + "\n")
    return results


if __name__ == "__main__":
    main()
