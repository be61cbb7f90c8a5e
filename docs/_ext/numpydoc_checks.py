"""The numpydoc checks the API reference's docstrings pass: docs/conf.py validates them during the build,
tests/test_docs_numpydoc.py in the test suite. GL08 a docstring exists, PR01 every parameter is documented, PR02 no
documented parameter is unknown, PR07 each parameter has a description, EX01 an Examples section exists.
Every class and function of the API reference passes them.
"""
import importlib
import inspect
import re
from pathlib import Path

CHECKS = {"GL08", "PR01", "PR02", "PR07", "EX01"}


API = Path(__file__).resolve().parents[1] / "api" / "index.rst"


def listed_names():
    """``(module, name)`` of every autosummary entry of docs/api/index.rst, under the module in force
    (``currentmodule``, ``module``): the one parser of the API page, for the build and the tests."""
    module, entries, in_table = None, [], False
    for line in API.read_text().splitlines():
        if m := re.match(r"\.\. (?:currentmodule|module|automodule):: (\S+)", line):
            module = m.group(1)
        elif line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and re.match(r"   [A-Za-z_]\w*$", line):
            entries.append((module, line.strip()))
        elif in_table and line and not line.startswith(" "):
            in_table = False
    return entries


def validated_names():
    """The qualified names whose docstrings the checks apply to: each class and function docs/api/index.rst
    lists (members and constants aside)."""
    names = []
    for module, name in listed_names():
        obj = getattr(importlib.import_module(module), name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            names.append(f"{module}.{name}")
    return names
