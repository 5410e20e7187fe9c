"""Entry point of the `batcher-gui` command (the window; until it exists, the CLI's status)."""

from __future__ import annotations

import sys


def main() -> int:
    """Start Batcher on the default (or given) workspace."""
    from batcher_gui import cli

    return cli.main(["status", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
