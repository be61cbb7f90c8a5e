"""The numpydoc checks the API reference's docstrings pass: docs/conf.py validates them during the build,
tests/test_docs_numpydoc.py in the test suite. GL08 a docstring exists, PR01 every parameter is documented, PR02 no
documented parameter is unknown, PR07 each parameter has a description, EX01 an Examples section exists.
Every class and function of the API reference passes them.
"""
CHECKS = {"GL08", "PR01", "PR02", "PR07", "EX01"}


def validated_names():
    """The qualified names whose docstrings the checks apply to: each class and function docs/api/index.rst
    lists (members and constants aside)."""
    import importlib
    import inspect
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    from test_docs_api import listed_names  # the one parser of the API page

    names = []
    for module, name in listed_names():
        obj = getattr(importlib.import_module(module), name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            names.append(f"{module}.{name}")
    return names
