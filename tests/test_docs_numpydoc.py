"""The docstrings of the names docs/api/index.rst lists pass numpydoc's validation, and their Examples run.

The checks live in docs/_ext/numpydoc_checks.py, shared with docs/conf.py's ``numpydoc_validation_checks``.

The Examples run as doctests with one BLAS thread (CI machines are shared) and a fixed print precision.
"""
import doctest
import importlib
import inspect
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

numpydoc_validate = pytest.importorskip("numpydoc.validate")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))
from numpydoc_checks import CHECKS, listed_names  # noqa: E402  (shared with docs/conf.py)


def documented_objects():
    """``(qualified name, object)`` of each listed class and function (constants have no docstring of their own)."""
    for module, name in listed_names():
        obj = getattr(importlib.import_module(module), name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            yield f"{module}.{name}", obj


OBJECTS = dict(documented_objects())


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_numpydoc_validation(name):
    errors = [f"{code}: {msg}" for code, msg in numpydoc_validate.validate(name)["errors"] if code in CHECKS]
    assert not errors, f"{name}:\n" + "\n".join(errors)


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_examples_run(name):
    finder, runner = doctest.DocTestFinder(recurse=False), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS
                                                                                 | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(OBJECTS[name], name, globs={"np": np})
    assert any(t.examples for t in tests), f"{name} has no doctest examples"
    with threadpool_limits(1, user_api="blas"), np.printoptions(precision=4, suppress=True, legacy=False):
        for test in tests:
            runner.run(test)
    assert runner.failures == 0, f"{runner.failures} failing example(s) in {name}'s docstring (run with -s)"
