"""What every command module shares: exit codes, output, progress bars.

Everything a command prints for a person goes through :func:`say` (or :func:`shown`): text
from users, files and providers (run names, file names, batch problems) may hold escape
sequences or bidi overrides, which are written out visibly (``\x1b``, ``\u202e``) instead of
acting on the terminal. ``--json`` output is written as it is: exact JSON.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from batcher_gui.domain.wording import visible

if TYPE_CHECKING:
    from tqdm import tqdm

    from batcher_gui.app import Service

EXIT_OK, EXIT_PROBLEM, EXIT_INVALID, EXIT_FAILURES, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
#: The reader of the output went away (``batcher status | head -1``): 128 + SIGPIPE, what a
#: shell reports for a program that SIGPIPE ended.
EXIT_BROKEN_PIPE = 141

#: A command: gets the parsed arguments and the open service, returns the exit code.
Command = Callable[[argparse.Namespace, "Service"], Awaitable[int]]
#: Adds a subcommand (name, help, command) with the workspace option; returns its parser.
AddCommand = Callable[[str, str, Command], argparse.ArgumentParser]


def shown(text: object) -> str:
    """``text`` as it may go to a terminal: hidden characters escaped (see module doc)."""
    return visible(str(text))


def say(*parts: Any, err: bool = False) -> None:
    print(*(shown(part) for part in parts), file=sys.stderr if err else sys.stdout, flush=True)


def bar(total: int, unit: str, desc: str) -> tqdm:
    """A progress bar on a terminal; nothing in pipes and CI logs."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, unit_scale=True, desc=shown(desc), disable=None,
                leave=False, file=sys.stderr)


def on_terminal() -> bool:
    return sys.stderr.isatty()
