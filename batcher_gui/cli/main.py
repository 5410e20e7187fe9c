"""The ``batcher`` command line: the same workspace and service as the window, for scripts.

Exit codes: 0 success; 1 a problem Batcher explains (nothing found, provider refused, a batch
waits for a key...); 2 invalid input or usage (nothing was changed); 3 ``sync --wait`` finished
but some batches or prompts failed; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from batcher_gui.app.logs import guard
from batcher_gui.cli import data_cmds, engine_cmds, estimate_cmd, setup_cmds
from batcher_gui.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_PROBLEM,
    Command,
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batcher",
        description="Run large sets of LLM prompts through provider batch APIs.",
        epilog="Exit codes: 0 ok; 1 a problem Batcher explains; 2 invalid input (nothing "
               "changed); 3 sync --wait finished with failed batches or prompts; 130 Ctrl-C.",
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
    engine_cmds.register(add)
    setup_cmds.register(add, subs)
    return parser


async def _run(args: argparse.Namespace) -> int:
    from batcher_gui.app import open_service
    from batcher_gui.app.process import settle

    settle()  # once, before the workspace opens (its objects must stay collectable)
    service = await open_service(args.data_dir)
    for problem in service.startup_problems:
        print(f"warning: a workspace setting was ignored: {problem} (`batcher config list` "
              "shows the settings)", file=sys.stderr)
    for notice in service.startup_notices:
        print(f"note: {notice}", file=sys.stderr)
    try:
        return int(await args.command_fn(args, service))
    finally:
        await service.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    to_terminal = logging.StreamHandler()
    to_terminal.setLevel(logging.INFO if args.verbose else logging.WARNING)
    to_terminal.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if not args.verbose:  # tracebacks go to the log file; -v shows them here too
        to_terminal.addFilter(lambda record: not record.exc_info)
    logging.getLogger().addHandler(guard(to_terminal))  # API keys masked in every record
    logging.getLogger().setLevel(logging.INFO)  # the workspace's log file gets INFO
    try:
        if getattr(args, "plain_fn", None) is not None:  # commands that need no workspace
            return int(args.plain_fn(args))
        return asyncio.run(_run(args))
    except ImportValidationError as exc:
        what = "the file cannot be read" if args.command == "estimate" else "nothing was imported"
        print(f"error: {what}; {plural(exc.total, 'problem')} found:", file=sys.stderr)
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except InvalidInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except BatcherError as exc:  # may quote a provider's answer: masked for API keys
        print(f"error: {mask(str(exc))}", file=sys.stderr)
        return EXIT_PROBLEM
    except KeyboardInterrupt:
        print(f"interrupted: {getattr(args, 'interrupted', 'stopped')}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: say so plainly; the traceback goes to the log file
        logging.getLogger("batcher_gui.cli").error("unexpected error", exc_info=exc)
        print(f"error: Batcher hit an unexpected problem ({type(exc).__name__}: "
              f"{mask(str(exc))}). "
              "Nothing was lost; the details are in the workspace's logs/batcher.log. "
              "Please report it.", file=sys.stderr)
        return EXIT_PROBLEM


if __name__ == "__main__":
    sys.exit(main())
