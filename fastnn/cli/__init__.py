"""The command line (``python -m fastnn info | cache clear | warmup``) and the tools it exposes to Python:
``show_versions()`` and ``warmup()``."""
from .show_versions import show_versions
from .warmup import warmup

__all__ = ["show_versions", "warmup"]
