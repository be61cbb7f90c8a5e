"""The README's two set-up commands are what CI runs, in order, in one venv (.ci/run)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [block.strip() for block in blocks[:2]]


def test_ci_runs_readme_command_1_then_command_2_as_written():
    commands = _readme_commands()
    assert commands[0].startswith("pip install .") and "quickstart" in commands[0], commands
    assert commands[1].startswith('pip install -e ".[test]"') and "pytest" in commands[1], commands
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    positions = [ci.index(command) for command in commands]  # ValueError: CI does not run it as written
    assert positions == sorted(positions), "CI must run command 1 before command 2"
    assert ci.index(". .venv/bin/activate") < positions[0], "both commands run in the venv CI creates"


def test_ci_oldest_run_pins_every_dependency_at_its_declared_lower_bound():
    """The second CI venv installs, for each of [project].dependencies, a release of its lower bound (1.26 ->
    1.26.x), so the declared ranges are the tested ones."""
    import pytest

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = dict(re.findall(r"\b([A-Za-z][\w.-]*)==([\d.]+)", (ROOT / ".ci" / "run").read_text()))
    for requirement in declared:
        name, lower = re.match(r"([A-Za-z][\w.-]*)\s*>=\s*([\d.]+)", requirement).groups()
        assert name in pins, f".ci/run's oldest venv does not pin {name}"
        assert (pins[name] + ".").startswith(lower + "."), f"{name}: pinned {pins[name]}, declared >= {lower}"
