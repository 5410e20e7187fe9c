"""The ``batcher`` command line: the same workspace and service as the window, for scripts.

Exit codes: 0 success; 1 a problem Batcher explains (nothing found, provider refused, a batch
waits for a key...); 2 invalid input or usage (nothing was changed); 3 ``sync --wait`` finished
but some batches or prompts failed; 130 interrupted (Ctrl-C); 141 the reader of the output
went away (``batcher status | head -1``: the command stops quietly).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from batcher_gui.app.logs import guard
from batcher_gui.cli import (
    checks_cmd,
    compare_cmd,
    data_cmds,
    engine_cmds,
    estimate_cmd,
    intake_cmds,
    rerun_cmd,
    review_cmds,
    serve_cmd,
    setup_cmds,
    transfer_cmd,
)
from batcher_gui.cli.common import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_PROBLEM,
    Command,
    say,
    shown,
)
from batcher_gui.domain.errors import BatcherError, ImportValidationError, InvalidInput
from batcher_gui.domain.secrecy import mask
from batcher_gui.domain.wording import plural


def workspace_option(parser: argparse.ArgumentParser, *, sub: bool = True) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        # On subcommands SUPPRESS keeps a value given before the subcommand.
        default=argparse.SUPPRESS if sub else None,
        help="workspace folder (else, the first set of: $BATCHER_HOME, $BATCHER_DATABASE_URL, "
             "$DATABASE_URL (refused if it holds another program's tables), the per-user "
             "data folder)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        default=argparse.SUPPRESS if sub else None,
        help="a team workspace in PostgreSQL (postgresql://user@host/db; also "
             "$BATCHER_DATABASE_URL); --data-dir is then this machine's folder for its files",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batcher",
        description="Run large sets of LLM prompts through provider batch APIs.",
        epilog="Exit codes: 0 ok; 1 a problem Batcher explains; 2 invalid input (nothing "
               "changed); 3 sync --wait finished with failed batches or prompts; 130 Ctrl-C; "
               "141 the output's reader went away.",
    )
    workspace_option(parser, sub=False)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    subs = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, command: Command) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = subs.add_parser(name, help=help_text,
                                                       description=help_text)
        workspace_option(sub)
        sub.set_defaults(command_fn=command)
        return sub

    data_cmds.register(add)
    estimate_cmd.register(add)
    rerun_cmd.register(add)
    compare_cmd.register(add)
    engine_cmds.register(add)
    review_cmds.register(add)
    setup_cmds.register(add, subs)
    checks_cmd.register(add)
    serve_cmd.register(add)
    transfer_cmd.register(add)
    intake_cmds.register(add)
    return parser


async def _run(args: argparse.Namespace) -> int:
    from batcher_gui.app import open_service
    from batcher_gui.app.process import settle

    settle()  # once, before the workspace opens (its objects must stay collectable)
    service = await open_service(args.data_dir, database=getattr(args, "database", None))
    for problem in service.startup_problems:
        say(f"warning: a workspace setting was ignored: {problem} (`batcher config list` "
            "shows the settings)", err=True)
    for notice in service.startup_notices:
        say(f"note: {notice}", err=True)
    try:
        return int(await args.command_fn(args, service))
    finally:
        await service.close()


class _VisibleFormatter(logging.Formatter):
    """Log lines on the terminal show hidden characters escaped, like every other output."""

    def format(self, record: logging.LogRecord) -> str:
        return shown(super().format(record))


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # output still buffered (--json) fails here, not at exit
        return code
    except BrokenPipeError:
        return _reader_went_away()


def _reader_went_away() -> int:
    """Stop quietly when the output's reader closed the pipe (``| head -1``), as a program
    ended by SIGPIPE does (Python's "Note on SIGPIPE"): the rest of the output goes nowhere
    instead of failing again when Python flushes it at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    to_terminal = logging.StreamHandler()
    to_terminal.setLevel(logging.INFO if args.verbose else logging.WARNING)
    to_terminal.setFormatter(_VisibleFormatter("%(levelname)s %(name)s: %(message)s"))
    if not args.verbose:  # tracebacks go to the log file; -v shows them here too
        to_terminal.addFilter(lambda record: not record.exc_info)
    if getattr(args, "setup_logging", None) is None:
        logging.getLogger().addHandler(guard(to_terminal))  # API keys masked in every record
    else:
        args.setup_logging(args)  # the command logs its own way (serve: all of it on stdout)
    logging.getLogger().setLevel(logging.INFO)  # the workspace's log file gets INFO
    try:
        if getattr(args, "check_args", None) is not None:  # before the workspace opens
            args.check_args(args)
        if getattr(args, "plain_fn", None) is not None:  # commands that need no workspace
            return int(args.plain_fn(args))
        return asyncio.run(_run(args))
    except ImportValidationError as exc:
        what = "the file cannot be read" if args.command == "estimate" else "nothing was imported"
        say(f"error: {what}; {plural(exc.total, 'problem')} found:", err=True)
        say(str(exc), err=True)
        return EXIT_INVALID
    except InvalidInput as exc:
        say(f"error: {exc}", err=True)
        return EXIT_INVALID
    except BatcherError as exc:  # may quote a provider's answer: masked for API keys
        say(f"error: {mask(str(exc))}", err=True)
        return EXIT_PROBLEM
    except KeyboardInterrupt:
        say(f"interrupted: {getattr(args, 'interrupted', 'stopped')}", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise  # not a bug: see main()
    except Exception as exc:  # a bug: say so plainly; the traceback goes to the log file
        logging.getLogger("batcher_gui.cli").error("unexpected error", exc_info=exc)
        say(f"error: Batcher hit an unexpected problem ({type(exc).__name__}: "
            f"{mask(str(exc))}). "
            "Nothing was lost; the details are in the workspace's logs/batcher.log. "
            "Please report it.", err=True)
        return EXIT_PROBLEM


if __name__ == "__main__":
    sys.exit(main())
