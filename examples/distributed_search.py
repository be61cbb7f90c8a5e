"""Distributed search: the grid search of grid_search.py on a dask.distributed cluster.
====================================================================================

scikit-learn parallelises ``GridSearchCV`` through joblib, and joblib can hand its tasks to a dask cluster
(``joblib.parallel_config(backend="dask")``). Nothing in the search changes: the same fastnn estimators,
pickled to the workers, trained there, scored, sent back. This is how to scale a search past one machine.

::

    pip install "fastnn[distributed]"        # dask[distributed]; examples also need "fastnn[examples]"

    python examples/distributed_search.py [--fast]                       # a LocalCluster on this machine
    python examples/distributed_search.py --scheduler tcp://host:8786    # a running cluster

For a real cluster, start ``dask scheduler`` on one machine and ``dask worker tcp://host:8786`` on the others,
each with fastnn installed (the same version: the workers unpickle fastnn estimators). Set
``NUMBA_NUM_THREADS=1`` / ``OMP_NUM_THREADS=1`` in the workers' environment when a worker runs several tasks
at once. Prints the best parameters, score and wall-clock time; saves ``figures/distributed_search.png``.
The documentation site shows this script without running it; the figure of its last full run (2026-11-22):

.. image:: /../examples/figures/distributed_search.png
   :alt: mean cross-validated accuracy over the grid, computed on a dask cluster
"""
import argparse
import os
import sys
import time

# Figures go next to this script. sphinx-gallery runs it as __main__ from this folder, without __file__.
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__", "_"))), "figures")
sys.path.insert(0, os.path.dirname(DEFAULT_OUT))  # to share grid_search.py's search

MISSING_DASK = (
    "distributed_search.py needs dask.distributed, which is not installed. Install it with\n"
    '    pip install "fastnn[distributed]"        (or: pip install "dask[distributed]")'
)


def main(fast=False, out_dir=DEFAULT_OUT, scheduler=None, n_workers=2):
    """Run the search on a dask cluster (a ``LocalCluster`` of ``n_workers`` processes unless ``scheduler``
    is given); return the time, best score/params, score tables and the figure path."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError(MISSING_DASK) from exc
    import joblib

    import grid_search
    from fastnn import MLPClassifier

    X, y = grid_search.load_data(fast)
    search = grid_search.make_search(MLPClassifier, fast, n_jobs=-1)

    start = time.perf_counter()
    cluster = None
    if scheduler is None:
        # One single-threaded worker process per core, with BLAS and Numba limited to one thread each, so that
        # n_workers concurrent fits do not oversubscribe the cores (joblib's own backend does the same).
        one_thread = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                             "NUMBA_NUM_THREADS")}
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, env=one_thread)
    try:
        with Client(scheduler or cluster) as client:
            startup = time.perf_counter() - start
            workers = len(client.scheduler_info()["workers"])
            print(f"dask cluster: {client.scheduler.address}, {workers} workers (started in {startup:.1f} s)")
            with joblib.parallel_config(backend="dask"):
                # Load fastnn's compiled kernels in every worker first, so the timing below is training.
                warmup = grid_search.warm_up_workers(search, X, y)
                seconds = grid_search.run_search(search, X, y)
    finally:
        if cluster is not None:
            cluster.close()

    n_fits = len(search.cv_results_["params"]) * search.n_splits_
    print(f"digits ({len(X)} images), {n_fits} fits on the cluster\n")
    grid_search.report("fastnn MLPClassifier", search, seconds)
    print(f"not included: loading fastnn's kernels in the workers, {warmup:.1f} s")
    tables, hidden, alphas = grid_search.score_table(search)
    path = grid_search.plot(tables, hidden, alphas, out_dir, filename="distributed_search.png",
                            title=f"GridSearchCV on a dask cluster ({workers} workers), fastnn.MLPClassifier")
    print(f"figure: {path}")
    return {"time": seconds, "startup_time": startup, "warmup_time": warmup, "n_workers": workers,
            "best_score": search.best_score_, "best_params": search.best_params_, "scores": tables,
            "figures": [path]}


# sphinx_gallery_thumbnail_path = "../examples/figures/distributed_search.png"

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--fast", action="store_true", help="a 2 x 2 grid on 600 images, 30 epochs")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running dask scheduler (tcp://host:8786); default: a LocalCluster")
    parser.add_argument("--n-workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    parser.add_argument("--out-dir", default=DEFAULT_OUT, help="where to save the figure")
    args = parser.parse_args()
    try:
        main(fast=args.fast, out_dir=args.out_dir, scheduler=args.scheduler, n_workers=args.n_workers)
    except ImportError as exc:
        raise SystemExit(str(exc))
