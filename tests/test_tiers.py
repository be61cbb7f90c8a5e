"""The tiered plan: a cold fit runs layer by layer and compiles only the small kernels it uses; the fused epoch runs
once it is compiled or cached (``fastnn.warmup()``), or when the fit is long enough to repay compiling it."""
import json
import os
import subprocess
import sys

import numpy as np

from fastnn import Dense, ReLU, Sequential, SoftmaxCrossEntropy
from fastnn.network import fused as _plan

FIT = """
import json, warnings
warnings.simplefilter("ignore")
import numpy as np
from fastnn import MLPClassifier
rng = np.random.default_rng(0)
X = rng.standard_normal((40, 5)); y = rng.integers(0, 3, 40)
est = MLPClassifier(hidden_layer_sizes=(6,), max_iter=3, batch_size=10, random_state=0).fit(X, y)
print(json.dumps({"fused_epochs": est._net.fused_epochs, "proba": est.predict_proba(X).tolist()}))
"""


def _run(args, env):
    result = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_cold_fit_is_layered_then_warmup_makes_auto_fits_fused_with_the_same_result(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    cold = json.loads(_run(["-c", FIT], env).strip().splitlines()[-1])
    assert cold["fused_epochs"] == 0, "a short fit on an empty cache must not compile the fused epoch"
    report = _run(["-m", "fastnn", "warmup", "--no-cnn"], env)
    assert "MLP fused epoch and prediction, float32" in report and "mlp_epoch" in report, report
    warm = json.loads(_run(["-c", FIT], env).strip().splitlines()[-1])
    assert warm["fused_epochs"] == 3, "a cached fused epoch must be used"
    np.testing.assert_array_equal(warm["proba"], cold["proba"])
    again = _run(["-m", "fastnn", "warmup", "--no-cnn"], env)
    assert again.count("all loaded from the cache") == 3, again  # layered, the fused variants, the fused fits


def test_auto_tier_fuses_only_when_the_expected_saving_repays_the_compile(monkeypatch):
    net = Sequential([Dense(8), ReLU(), Dense(3)], SoftmaxCrossEntropy()).build((5,), np.float32, 0)
    plan = net._fused_plan()
    monkeypatch.setattr(plan, "_ready", lambda kernel, args: False)  # as on an empty cache
    monkeypatch.setattr(_plan.background, "enabled", lambda: False)  # the rule without background compiles
    monkeypatch.setattr(_plan.background, "pending", lambda dtype, codes=None, start=True: False)
    per_step = _plan.PER_BATCH + _plan.PER_LAYER * 3
    steps_to_repay = _plan.COMPILE_SECONDS / per_step
    assert not plan.worth_fusing((None, None), int(steps_to_repay * 0.9))
    assert plan.worth_fusing((None, None), int(steps_to_repay * 1.1) + 1)
    monkeypatch.setattr(plan, "_ready", lambda kernel, args: True)
    assert plan.worth_fusing((None, None), 1)


def test_dropout_stack_has_no_fused_plan():
    from fastnn import Dropout

    net = Sequential([Dense(8), ReLU(), Dropout(0.5), Dense(3)], SoftmaxCrossEntropy()).build((5,), np.float32, 0)
    assert net._fused_plan() is None
