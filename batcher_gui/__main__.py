"""Entry point of the `batcher-gui` command: the window."""

from __future__ import annotations

import sys


def main() -> int:
    """Start Batcher's window on the default (or given) workspace."""
    from batcher_gui.ui.app import main as window

    return window(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
