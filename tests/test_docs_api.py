"""The API reference (docs/api/index.rst) lists every public name, and each listed name exists.

Public: a module's ``__all__`` (submodules aside), or, without ``__all__``, the classes and functions it defines
whose names do not start with an underscore. A name may be listed under any module that exposes the same object
(``fastnn.Dense`` is ``fastnn.layers.Dense``); each object is documented once.
"""
import importlib
import inspect
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))
from numpydoc_checks import listed_names  # noqa: E402  (the API page's parser, shared with the docs build)

MODULES = ["fastnn", "fastnn.layers", "fastnn.losses", "fastnn.optimizers", "fastnn.plotting", "fastnn.gradcheck",
           "fastnn.datasets", "fastnn.exceptions", "fastnn.onnx"]


def public_objects(module_name):
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        names = module.__all__
    else:
        names = [name for name, obj in vars(module).items() if not name.startswith("_")
                 and (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == module_name]
    return {name: getattr(module, name) for name in names if not inspect.ismodule(getattr(module, name))}


def test_every_listed_name_exists():
    missing = []
    for module, name in listed_names():
        if not hasattr(importlib.import_module(module), name):
            missing.append(f"{module}.{name}")
    assert not missing, f"docs/api/index.rst lists names that do not exist: {missing}"


def test_each_object_is_listed_once():
    seen = {}
    for module, name in listed_names():
        obj = getattr(importlib.import_module(module), name)
        key = id(obj) if inspect.isclass(obj) or inspect.isfunction(obj) else f"{module}.{name}"
        seen.setdefault(key, []).append(f"{module}.{name}")
    twice = [names for names in seen.values() if len(names) > 1]
    assert not twice, f"documented more than once (Sphinx warns about duplicate objects): {twice}"


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_name_is_in_the_reference(module_name):
    if module_name == "fastnn.onnx":
        pytest.importorskip("skl2onnx", reason="fastnn.onnx needs the onnx extra")
    listed = listed_names()
    documented = {f"{m}.{n}" for m, n in listed}
    documented_ids = set()
    for module, name in listed:
        obj = getattr(importlib.import_module(module), name, None)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            documented_ids.add(id(obj))
    missing = [f"{module_name}.{name}" for name, obj in public_objects(module_name).items()
               if f"{module_name}.{name}" not in documented and id(obj) not in documented_ids]
    assert not missing, f"public names missing from docs/api/index.rst (add them to an autosummary table): {missing}"


def test_the_reference_parser_sees_the_tables():
    modules = {module for module, _ in listed_names()}
    assert set(MODULES) <= modules, sorted(modules)
    assert len(listed_names()) >= 50
