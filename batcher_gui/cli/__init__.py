"""The ``batcher`` command line (see :mod:`batcher_gui.cli.main`)."""

from batcher_gui.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
