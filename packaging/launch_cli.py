"""PyInstaller entry script of the ``batcher`` executable (the command line, a console program)."""

import sys

from batcher_gui.__main__ import cli  # imports nothing heavy: freeze_support runs first

sys.exit(cli())
