"""Out-of-core training: an MLPClassifier learns from more data than its dask workers may hold.
============================================================================================

``dask_ml.wrappers.Incremental(fastnn.MLPClassifier(...))`` walks a dask array block by block and calls the
model's ``partial_fit`` on each block, on whichever worker holds it; one ``Incremental.partial_fit`` is one pass
over all blocks (in a shuffled order), carrying the model (weights and Adam state) from block to block. The
data here is never stored anywhere: each block is generated from its seed when a task needs it and dropped
after, so the array is as large as you like.

How "larger than memory" is enforced: the ``LocalCluster`` workers get a ``memory_limit`` smaller than the
array's ``nbytes`` (``n_workers * memory_limit < nbytes``), with spilling to disk switched off; dask's nanny
kills a worker that goes past 95 % of its limit, so the run could not finish if a worker held the data.
At the end every worker reports its peak resident memory (``getrusage``), which stays below the limit; the
client process never computes a block.

::

    pip install "fastnn[distributed,examples]"     # dask[distributed], dask-ml, pyarrow; matplotlib

    python examples/out_of_core.py [--fast]                         # a LocalCluster on this machine
    python examples/out_of_core.py --scheduler tcp://host:8786      # a running cluster (its own memory limits)

Data: 10 classes, each a mixture of 4 Gaussian clusters in 256 dimensions (float32), 16384 rows per block.
Default: 4 GiB (4,194,304 rows), 2 workers of 1.5 GiB, 4 passes. ``--fast``: 1.25 GiB, 1 worker of 1 GiB, 2
passes. A worker needs about 300 MiB before any data (Python, NumPy, SciPy, scikit-learn, Numba, dask); in the
fast setting it usually peaks near 415 MiB, once (inside the full test suite) at 662 MiB, hence limits of 1 GiB.
Prints the score after each pass and the memory numbers; saves ``figures/out_of_core.png``. The documentation
site shows this script without running it; the figure of its last full run (2026-12-01):

.. image:: /../examples/figures/out_of_core.png
   :alt: test accuracy after each pass and the workers' peak memory against their limit
"""
import argparse
import os
import time

import numpy as np

# Figures go next to this script. sphinx-gallery runs it as __main__ from this folder, without __file__.
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__", "_"))), "figures")
MISSING = (
    "out_of_core.py needs dask.distributed and dask-ml, which are not installed. Install them with\n"
    '    pip install "fastnn[distributed]"        (or: pip install "dask[distributed]" dask-ml pyarrow)'
)
N_FEATURES, N_CLASSES, CLUSTERS_PER_CLASS, BLOCK_ROWS = 256, 10, 4, 16384
SETTINGS = {  # data size, workers and their memory limit, passes
    False: dict(nbytes=4 << 30, n_workers=2, memory_limit=3 << 29, passes=4),
    True: dict(nbytes=5 << 28, n_workers=1, memory_limit=1 << 30, passes=2),
}


# ---------------------------------------------------------------------------------------------- the data
def _cluster_means(seed):
    """``(n_classes * clusters_per_class, n_features)`` cluster centres; cluster c belongs to class c % 10."""
    rng = np.random.default_rng([seed, 0])
    return rng.normal(0.0, 0.3, (N_CLASSES * CLUSTERS_PER_CLASS, N_FEATURES)).astype(np.float32)


def _clusters(seed, block, rows):
    return np.random.default_rng([seed, 1, block]).integers(0, N_CLASSES * CLUSTERS_PER_CLASS, rows)


def make_features(seed, block, rows):
    """Block ``block`` of X: ``(rows, 256)`` float32, unit Gaussian noise around each row's cluster centre."""
    X = np.random.default_rng([seed, 2, block]).standard_normal((rows, N_FEATURES), dtype=np.float32)
    X += _cluster_means(seed)[_clusters(seed, block, rows)]
    return X


def make_labels(seed, block, rows):
    """Block ``block`` of y: the class of each row's cluster (regenerated from the seed, not from X)."""
    return _clusters(seed, block, rows) % N_CLASSES


def lazy_data(n_rows, seed=0, first_block=0):
    """``(X, y)`` dask arrays of ``n_rows`` rows in blocks of ``BLOCK_ROWS``, each block generated on demand."""
    import dask
    import dask.array as da

    n_blocks = -(-n_rows // BLOCK_ROWS)
    sizes = [min(BLOCK_ROWS, n_rows - i * BLOCK_ROWS) for i in range(n_blocks)]
    blocks = [first_block + i for i in range(n_blocks)]
    X = da.concatenate([
        da.from_delayed(dask.delayed(make_features)(seed, b, r), (r, N_FEATURES), np.float32)
        for b, r in zip(blocks, sizes)
    ])
    y = da.concatenate([
        da.from_delayed(dask.delayed(make_labels)(seed, b, r), (r,), np.int64) for b, r in zip(blocks, sizes)
    ])
    return X, y


def peak_memory():
    """Peak resident memory of the calling process, in bytes (Linux reports kilobytes)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---------------------------------------------------------------------------------------------- training
def start_cluster(n_workers, memory_limit):
    """A LocalCluster of single-threaded worker processes with ``memory_limit`` bytes each and no spilling."""
    import dask
    from dask.distributed import LocalCluster

    one_thread = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                         "NUMBA_NUM_THREADS")}
    # Workers inherit this config: no spilling to disk, so a worker's data has to fit in its memory_limit.
    with dask.config.set({"distributed.worker.memory.target": False, "distributed.worker.memory.spill": False}):
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                            dashboard_address=":0", env=one_thread)


def train(client, X, y, X_test, y_test, passes):
    """``passes`` passes of ``Incremental.partial_fit`` over ``(X, y)``; the test accuracy and time of each."""
    from dask_ml.wrappers import Incremental

    from fastnn import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=(32,), batch_size=2000, random_state=0)
    inc = Incremental(model, scoring="accuracy", random_state=np.random.RandomState(0))  # new block order per pass
    scores, times = [], []
    for p in range(passes):
        start = time.perf_counter()
        inc.partial_fit(X, y, classes=np.arange(N_CLASSES))
        times.append(time.perf_counter() - start)
        scores.append(float(inc.score(X_test, y_test)))
        print(f"pass {p + 1}: test accuracy {scores[-1]:.3f}  ({times[-1]:.1f} s, "
              f"{X.nbytes / 2**20 / times[-1]:.0f} MiB/s)")
    return inc, scores, times


def plot(scores, nbytes, limits, peaks, out_dir):
    """Left: test accuracy after each pass. Right: the data's size against the workers' limits and peaks."""
    import matplotlib

    matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
    import matplotlib.pyplot as plt

    passes = np.arange(1, len(scores) + 1)
    fig, (ax, mem) = plt.subplots(1, 2, figsize=(9, 3.8), gridspec_kw={"width_ratios": [3, 2]})
    ax.plot(passes, scores, "o-", color="#d62728", label="fastnn.MLPClassifier")
    ax.axhline(1 / N_CLASSES, color="grey", lw=0.8, ls=":", label="chance")
    ax.set(xticks=passes, xlabel="pass over the data", ylabel="test accuracy", ylim=(0, 1),
           title="Incremental(MLPClassifier), score after each pass")
    ax.legend(loc="lower right")
    bars = {"data (X)": nbytes, "all workers'\nmemory limits": sum(limits), "peak memory,\nbusiest worker":
            max(peaks)}
    mem.bar(list(bars), [v / 2**20 for v in bars.values()], color=["#1f77b4", "#7f7f7f", "#d62728"])
    mem.set(ylabel="MiB", title=f"{len(peaks)} worker(s), data generated lazily")
    mem.tick_params(axis="x", labelsize=8)
    for ax_ in (ax, mem):
        ax_.title.set_fontsize(10)
    fig.tight_layout()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "out_of_core.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(fast=False, out_dir=DEFAULT_OUT, scheduler=None):
    """Train on a lazily generated array larger than the workers' memory; return the scores after each pass,
    the data size, the workers' memory limits and peak memory, and the figure path."""
    try:
        from dask.distributed import Client
        import dask_ml  # noqa: F401
    except ImportError as exc:
        raise ImportError(MISSING) from exc

    setting = SETTINGS[bool(fast)]
    X, y = lazy_data(setting["nbytes"] // (4 * N_FEATURES))
    X_test, y_test = lazy_data(20000, first_block=10**6)  # other blocks of the same distribution
    cluster = None if scheduler else start_cluster(setting["n_workers"], setting["memory_limit"])
    try:
        with Client(scheduler or cluster) as client:
            workers = client.scheduler_info()["workers"]
            limits = [w["memory_limit"] for w in workers.values() if w.get("memory_limit")]
            print(f"dask cluster {client.scheduler.address}: {len(workers)} worker(s), memory limit "
                  f"{', '.join(f'{m / 2**20:.0f} MiB' for m in limits) or 'none'}")
            print(f"X: {X.shape[0]:,} x {X.shape[1]} float32 = {X.nbytes / 2**20:.0f} MiB in {X.numblocks[0]} "
                  f"blocks, generated on the workers")
            inc, scores, times = train(client, X, y, X_test, y_test, setting["passes"])
            peaks = list(client.run(peak_memory).values())
    finally:
        if cluster is not None:
            cluster.close()
    print(f"peak memory of the workers: {', '.join(f'{p / 2**20:.0f} MiB' for p in peaks)}; "
          f"of this process: {peak_memory() / 2**20:.0f} MiB")
    path = plot(scores, X.nbytes, limits, peaks, out_dir)
    print(f"figure: {path}")
    return {"scores": scores, "times": times, "nbytes": int(X.nbytes), "memory_limits": limits,
            "worker_peak_memory": peaks, "samples_seen": inc.estimator_.t_, "n_rows": X.shape[0], "figures": [path]}


# sphinx_gallery_thumbnail_path = "../examples/figures/out_of_core.png"

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--fast", action="store_true", help="1.25 GiB of data, one worker of 1 GiB, 2 passes")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running dask scheduler (tcp://host:8786); default: a LocalCluster")
    parser.add_argument("--out-dir", default=DEFAULT_OUT, help="where to save the figure")
    args = parser.parse_args()
    try:
        main(fast=args.fast, out_dir=args.out_dir, scheduler=args.scheduler)
    except ImportError as exc:
        raise SystemExit(str(exc))
