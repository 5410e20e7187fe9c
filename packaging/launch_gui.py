"""PyInstaller entry script of ``batcher-gui``: the window (``batcher-gui --cli ...``: the CLI)."""

import sys

from batcher_gui.__main__ import main  # imports nothing heavy: freeze_support runs first

sys.exit(main())
