"""Entry points: ``batcher-gui`` (the window) and, in a frozen build, ``batcher`` (the CLI).

``batcher-gui --cli ARGS...`` runs the command line instead of the window (everything after
``--cli`` goes to it), so a packaged app with only one executable is scriptable too.
"""

from __future__ import annotations

import sys


def _child_or_console() -> None:
    """First thing in every entry point, before anything else is imported.

    Import readers and the built-in sandbox are ``spawn`` child processes: in a frozen build
    they re-run this executable, and ``freeze_support`` turns that run into the child (it
    returns at once in a normal process). A windowed Windows build has no console at all
    (``sys.stdout`` is None): printing (``--version``, the smoke test's report, a child's
    logging) must not fail.
    """
    import os

    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115  (for the whole run)
    import multiprocessing

    multiprocessing.freeze_support()


def main() -> int:
    """Start Batcher's window on the default (or given) workspace (or the CLI after --cli)."""
    _child_or_console()
    argv = sys.argv[1:]
    if argv[:1] == ["--cli"]:
        from batcher_gui.cli import main as command_line

        return command_line(argv[1:])
    from batcher_gui.ui.app import main as window

    return window(argv)


def cli() -> int:
    """The ``batcher`` command of a frozen build (a checkout's is ``batcher_gui.cli:main``)."""
    _child_or_console()
    from batcher_gui.cli import main as command_line

    return command_line(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
