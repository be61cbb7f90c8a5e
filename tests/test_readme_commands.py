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
