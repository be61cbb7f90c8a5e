"""How the gallery runs the scripts of ``examples/``: their command line, their order, and their saved figures.

Referred to by name from ``sphinx_gallery_conf`` in ``docs/conf.py`` (sphinx-gallery imports them), so that the
configuration holds only strings and Sphinx can pickle it.
"""
import os
import shutil
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
# What the examples save, copied from here into the gallery pages; written on every build, ignored by git.
FIGURES = DOCS / "_generated" / "gallery_figures"
# Run by the build; the rest are listed and shown without running (a dask cluster, GiBs of data, a download).
EXECUTED = ["quickstart", "playground", "optimizers", "xnor", "cnn_digits", "custom_network", "watching_a_fit",
            "grid_search", "learned_features"]
NOT_EXECUTED = ["distributed_search", "out_of_core", "mnist"]
FULL = bool(os.environ.get("FASTNN_DOCS_FULL_GALLERY"))  # the examples' default (full) setting: far slower


def example_argv(gallery_conf, script_vars):
    """The command line of each example: ``--fast`` unless a full build, and a scratch folder for its figures."""
    script = Path(script_vars["src_file"])
    argv = [] if FULL else ["--fast"]
    if "--out-dir" in script.read_text():
        argv += ["--out-dir", str(FIGURES / script.stem)]
    return argv


class ExampleOrder:
    """Gallery order: the first hour's examples first, then the executed ones, then those shown without a run."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        stem = Path(filename).stem
        order = EXECUTED + NOT_EXECUTED
        return (order.index(stem), stem) if stem in order else (len(order), stem)

    def __repr__(self):
        return "ExampleOrder()"


class SavedFigures:
    """Image scraper: the PNGs an example saved into its scratch folder, shown below its code.

    The examples save their figures and close them, so the matplotlib scraper sees none; this one copies each new
    or rewritten PNG into the gallery's image paths.
    """

    def __init__(self):
        self.seen = {}

    def __repr__(self):
        return "SavedFigures()"

    def __call__(self, block, block_vars, gallery_conf):
        from sphinx_gallery.scrapers import figure_rst

        folder = FIGURES / Path(block_vars["src_file"]).stem
        shown = []
        for png in sorted(folder.glob("*.png")) if folder.is_dir() else []:
            stamp = png.stat().st_mtime_ns
            if self.seen.get(png) == stamp:
                continue
            self.seen[png] = stamp
            target = next(block_vars["image_path_iterator"])
            shutil.copyfile(png, target)
            shown.append(target)
        return figure_rst(shown, gallery_conf["src_dir"])


saved_figures = SavedFigures()


def filename_pattern():
    """Which examples the build executes (a regular expression on their paths)."""
    if FULL:
        return r"\.py$"
    return r"/(" + "|".join(EXECUTED) + r")\.py$"
