"""What every command module shares: exit codes, output, progress bars."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm

    from batcher_gui.app import Service

EXIT_OK, EXIT_PROBLEM, EXIT_INVALID, EXIT_FAILURES, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

#: A command: gets the parsed arguments and the open service, returns the exit code.
Command = Callable[[argparse.Namespace, "Service"], Awaitable[int]]
#: Adds a subcommand (name, help, command) with the workspace option; returns its parser.
AddCommand = Callable[[str, str, Command], argparse.ArgumentParser]


def say(*parts: Any, err: bool = False) -> None:
    print(*parts, file=sys.stderr if err else sys.stdout, flush=True)


def bar(total: int, unit: str, desc: str) -> tqdm:
    """A progress bar on a terminal; nothing in pipes and CI logs."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, unit_scale=True, desc=desc, disable=None, leave=False,
                file=sys.stderr)


def on_terminal() -> bool:
    return sys.stderr.isatty()
