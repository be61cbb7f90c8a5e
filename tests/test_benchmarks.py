"""The benchmark suite still imports and runs: every asv benchmark once on tiny sizes (without asv), and
``benchmarks/compare.py --quick`` end to end. Timings are never asserted; only that things run and report."""
import importlib
import importlib.util
import itertools
import os
import pkgutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import benchmarks  # noqa: E402
from benchmarks import common  # noqa: E402

MODULES = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
TINY = {  # class attribute overrides that keep one run of each benchmark small
    "SyntheticEpoch": {"n_samples": 400},
    "FitMemory": {"n_samples": 400},
    "DigitsAccuracy": {"max_iter": 2},
    "CNNEpoch": {"params": [[128]]},
}


def _cases():
    for mod_name in MODULES:
        mod = importlib.import_module(f"benchmarks.{mod_name}")
        for name, cls in vars(mod).items():
            if not isinstance(cls, type) or cls.__module__ != mod.__name__:
                continue
            methods = [m for m in vars(cls) if m.startswith(("time_", "track_", "timeraw_"))]
            if methods:
                yield pytest.param(cls, methods, id=f"{mod_name}.{name}")


def _param_sets(cls):
    """Every implementation (when the first parameter is ``impl``) with the first value of the others."""
    params = getattr(cls, "params", [])
    if not params:
        return [()]
    if not isinstance(params[0], (list, tuple)):
        params = [params]
    names = getattr(cls, "param_names", [])
    first = params[0] if names[:1] == ["impl"] else params[0][:1]
    return list(itertools.product(first, *[p[:1] for p in params[1:]]))


def _run_timeraw(code):
    stmt, setup = code if isinstance(code, tuple) else (code, "")
    subprocess.run([sys.executable, "-c", setup + "\n" + stmt], check=True, timeout=300)


@pytest.mark.parametrize("cls, methods", list(_cases()))
def test_benchmark_runs_once(cls, methods, monkeypatch):
    for attr, value in TINY.get(cls.__name__, {}).items():
        monkeypatch.setattr(cls, attr, value)
    skipped = []
    for args in _param_sets(cls):
        bench = cls()
        try:
            if hasattr(bench, "setup"):
                bench.setup(*args)
        except NotImplementedError as exc:  # asv reports these as skipped too
            skipped.append(f"{args}: {exc}")
            continue
        try:
            for name in methods:
                result = getattr(bench, name)(*args)
                if name.startswith("track_"):
                    assert isinstance(result, (int, float)) and result >= 0, (name, args, result)
                elif name.startswith("timeraw_"):
                    stmt, setup = result
                    compile(setup, "<setup>", "exec"), compile(stmt, "<stmt>", "exec")
                    if cls.__name__ == "WarmStart":  # the cold one would recompile everything: syntax only
                        _run_timeraw(result)
        finally:
            if hasattr(bench, "teardown"):
                bench.teardown(*args)
    if skipped and len(skipped) == len(_param_sets(cls)):
        pytest.skip("; ".join(skipped))


def test_t2_flop_count_matches_the_issue():
    assert common.mlp_gflop(60000, (784, 100, 10)) == pytest.approx(19.176)
    assert common.mlp_gflop(60000, (784, 100, 10), input_grad=True) == pytest.approx(28.584)


def test_compare_quick_writes_chart_and_a_row_per_target(tmp_path):
    png, table = tmp_path / "compare.png", tmp_path / "compare.md"
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "compare.py"), "--quick", "--out", str(png),
         "--table", str(table)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    if importlib.util.find_spec("matplotlib") is not None:
        assert png.exists() and png.stat().st_size > 1000
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = [line for line in table.read_text().splitlines() if line.startswith("| T")]
    assert [row[2:4] for row in rows] == ["T1", "T2", "T3", "T4", "T5", "T6"], rows
    assert "| T1" in proc.stdout and "Machine:" in proc.stdout
    t1 = rows[0].split("|")
    assert t1[2].strip() not in ("-", "") and t1[3].strip() not in ("-", ""), rows[0]  # fastnn and sklearn timed
    try:
        import torch  # noqa: F401
    except ImportError:
        return
    assert t1[4].strip() not in ("-", ""), rows[0]  # PyTorch timed when importable


def test_first_fit_quick_measures_cold_fit_against_scikit_learn():
    """benchmarks/first_fit.py end to end on tiny fits: one row with both libraries' times and their ratio."""
    from benchmarks import first_fit

    rows = first_fit.main(["--cases", "cold", "--repeats", "1", "--quick"])
    (name, fastnn_time, sklearn_time, ratio, goal), = rows
    assert fastnn_time.endswith(" s") and sklearn_time.endswith(" s") and float(sklearn_time[:-2]) > 0
    assert float(ratio[:-1]) == pytest.approx(float(fastnn_time[:-2]) / float(sklearn_time[:-2]), rel=0.05)


def test_cnn_shapes_table_has_a_row_per_shape_with_the_ratios_and_their_geometric_mean(tmp_path, monkeypatch):
    """benchmarks/cnn_shapes.py --table: PyTorch / fastnn per shape (above 1: fastnn faster or smaller), then the
    geometric means, from the measured values (here given)."""
    from types import SimpleNamespace

    from benchmarks import cnn_shapes

    monkeypatch.setattr(sys, "argv", ["cnn_shapes.py", "--table", "t.md"])
    results = {
        "a": {"train": {"fastnn": 0.5, "torch": 1.0}, "infer": {"fastnn": 2.0, "torch": 1.0},
              "peak": {"fastnn": 2**20, "torch": 2 * 2**20}},
        "b": {"train": {"fastnn": 1.0, "torch": 8.0}, "infer": {"fastnn": 1.0, "torch": 2.0}, "peak": {}},
    }
    ratios = {"train": [2.0, 8.0], "infer": [0.5, 2.0], "peak": [2.0]}
    path = tmp_path / "t.md"
    cnn_shapes.write_table(str(path), results, ratios, SimpleNamespace(threads=2, n_infer=10))
    lines = path.read_text().splitlines()
    assert lines[0].startswith("Machine: ") and "--table t.md" in lines[2]
    assert lines[-3] == ("| a | 500 ms | 1000 ms | 2.00x | 2000 ms | 1000 ms | 0.50x | 1.0 MiB | 2.0 MiB | 2.00x |")
    assert lines[-2] == "| b | 1000 ms | 8000 ms | 8.00x | 1000 ms | 2000 ms | 2.00x | - | - | - |"
    assert lines[-1] == ("| geometric mean | | | 4.00x (lowest 2.00x) | | | 1.00x (lowest 0.50x) | | | "
                         "2.00x (lowest 2.00x) |")


def test_cnn_shapes_layers_table_gives_each_convolutions_rates_against_pytorch_and_the_sgemm_peak(tmp_path, monkeypatch):
    """benchmarks/cnn_shapes.py --layers-table: GFLOP/s = FLOPs / seconds per pass of each convolution, fastnn /
    PyTorch and fastnn / the measured sgemm rate (values given); a first layer has no backward-data."""
    from types import SimpleNamespace

    from benchmarks import cnn_shapes

    monkeypatch.setattr(sys, "argv", ["cnn_shapes.py", "--layers", "--layers-table", "l.md"])
    layers = [
        {"conv": "1: 8 filters 3x3 stride 1", "flops": 2e9, "fwd": (0.1, 0.05), "data": 0.0, "weights": 0.2,
         "torch data": 0.0, "torch weights": 0.1},
        {"conv": "2: 16 filters 3x3 stride 2", "flops": 4e9, "fwd": (0.1, 0.2), "data": 0.05, "weights": 0.1,
         "torch data": 0.1, "torch weights": 0.04},
    ]
    path = tmp_path / "l.md"
    cnn_shapes.write_layers_table(str(path), {"a": {"layers": layers}, "b": {}}, SimpleNamespace(threads=2), 100.0)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("Machine: ") and "--layers-table l.md" in lines[2]
    assert "runs 100 GFLOP/s here" in lines[4]
    assert lines[-2] == "| a | 1: 8 filters 3x3 stride 1 | 20 | 40 | - | - | 10 | 20 | 0.50, -, 0.50 | 20%, -, 10% |"
    assert lines[-1] == ("| a | 2: 16 filters 3x3 stride 2 | 40 | 20 | 80 | 40 | 40 | 100 | 2.00, 2.00, 0.40 | "
                         "40%, 80%, 40% |")
