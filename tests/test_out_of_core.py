"""examples/out_of_core.py in its fast setting: Incremental(fastnn.MLPClassifier) trains on a lazily generated
dask array larger than its LocalCluster worker may hold (memory_limit, no spilling), every block is seen once per
pass, the worker's peak memory stays under its limit, and the test accuracy rises from pass to pass."""
import importlib.util
import os

import pytest

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "out_of_core.py")


@pytest.fixture(autouse=True)
def _headless(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")


def test_out_of_core_fast_on_a_memory_limited_local_cluster(tmp_path):
    pytest.importorskip("distributed", reason="dask[distributed] is not installed (pip install 'fastnn[distributed]')")
    pytest.importorskip("dask_ml", reason="dask-ml is not installed (pip install 'fastnn[distributed]')")
    spec = importlib.util.spec_from_file_location("example_out_of_core", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    res = example.main(fast=True, out_dir=str(tmp_path))

    limits, peaks = res["memory_limits"], res["worker_peak_memory"]
    assert len(limits) == len(peaks) == 1
    assert res["nbytes"] == 1280 << 20 and res["nbytes"] > sum(limits), (res["nbytes"], limits)
    assert max(peaks) < min(limits), f"worker peak {max(peaks) / 2**20:.0f} MiB, limit {min(limits) / 2**20:.0f} MiB"
    assert res["n_rows"] * 4 * example.N_FEATURES == res["nbytes"]
    assert res["samples_seen"] == 2 * res["n_rows"]  # the model carried from block to block through both passes
    scores = res["scores"]
    assert len(scores) == 2 and scores[1] > scores[0] and scores[1] > 0.6, scores
    [path] = res["figures"]
    assert os.path.basename(path) == "out_of_core.png" and os.path.getsize(path) > 1000
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
