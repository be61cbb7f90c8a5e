"""``python -m fastnn``: see ``fastnn.cli.main``."""
import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
