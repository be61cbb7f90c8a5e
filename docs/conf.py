"""Sphinx configuration of fastnn's documentation site.

Build it as CI does (warnings are errors)::

    pip install -e ".[docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html

The gallery runs the scripts of ``examples/`` in their ``--fast`` setting, except the slow ones
(``docs/_ext/gallery_setup.py`` lists them; their pages show the figure of their last full run);
``FASTNN_DOCS_FULL_GALLERY=1`` runs every one in its default (full) setting, which takes far longer.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import fastnn

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

project = "fastnn"
author = "the fastnn developers"
copyright = "2026, the fastnn developers"
release = fastnn.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated", "guide/measured", "**.ipynb_checkpoints", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5"]
templates_path = ["_templates"]

# MyST: ``{math}`` and ``$...$`` in the guide, and heading anchors so that links like guide/x.md#a-section work.
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# API reference: one page per public object, from the autosummary tables of docs/api/*.rst.
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": False}
autodoc_typehints = "none"
autodoc_preserve_defaults = True  # signatures show `dtype=np.float32` as written, not the class repr
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# numpydoc validation (docs/_ext/numpydoc_checks.py; tests/test_docs_numpydoc.py runs the same checks): the
# build warns, so fails under -W, when a docstring loses a section.
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))
from numpydoc_checks import CHECKS, validated_names  # noqa: E402

numpydoc_validation_checks = set(CHECKS)
# Validate exactly the listed classes and functions: every other name (members, constants) is excluded.
numpydoc_validation_exclude = {"^(?!(?:" + "|".join(re.escape(name) for name in validated_names()) + ")$)"}

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
}
# No network here or in CI: intersphinx reads nothing unless FASTNN_DOCS_INTERSPHINX=1.
if not os.environ.get("FASTNN_DOCS_INTERSPHINX"):
    intersphinx_mapping = {}

# linkcheck: the internal links are what the build can check offline; external hosts cannot be reached in CI.
linkcheck_ignore = [r"https?://.*"]
linkcheck_anchors = True

html_theme = "pydata_sphinx_theme"
html_title = f"fastnn {release}"
html_static_path = []  # no static files of our own (a missing _static folder is a warning, so fails -W)
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "navigation_with_keys": False,
}
html_sidebars = {"changelog": [], "index": [], "api/index": []}  # the API index lists the pages itself
html_show_sourcelink = False


# ---------------------------------------------------------------------------------------------------- gallery
sys.path.insert(0, str(DOCS / "_ext"))
import gallery_setup  # noqa: E402

GENERATED = DOCS / "_generated"  # written by this file on every build; git ignores it
shutil.rmtree(gallery_setup.FIGURES, ignore_errors=True)
os.environ.setdefault("MPLBACKEND", "Agg")

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": gallery_setup.filename_pattern(),
    "reset_argv": "gallery_setup.example_argv",
    "image_scrapers": ("gallery_setup.saved_figures",),
    "within_subsection_order": "gallery_setup.ExampleOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "show_memory": False,
    "capture_repr": (),
}


# -------------------------------------------------------------------------------------------- the CLI page
def _write_cli_help():
    """``python -m fastnn [command] --help`` as text files, so the CLI page always shows today's options."""
    out = GENERATED / "cli_help"
    out.mkdir(parents=True, exist_ok=True)
    for name, args in {"main": [], "info": ["info"], "cache": ["cache"], "warmup": ["warmup"]}.items():
        text = subprocess.run([sys.executable, "-m", "fastnn", *args, "--help"], capture_output=True, text=True,
                              check=True, env={**os.environ, "COLUMNS": "100"}).stdout
        (out / f"{name}.txt").write_text(text)


_write_cli_help()


# ---------------------------------------------------------------------------------------------- autodoc
def _skip_scikit_learn_members(app, what, name, obj, skip, options):
    """Leave out the methods every estimator inherits from scikit-learn (``get_params``, ``score``, the metadata
    requests): scikit-learn documents them, and their docstrings point into scikit-learn's own glossary."""
    if getattr(obj, "__module__", None) and obj.__module__.split(".")[0] == "sklearn":
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_scikit_learn_members)
