"""``batcher serve``: the engine without a window, for a server (see
:mod:`batcher_gui.server.headless`).

Logs go to stdout, one JSON object a line (``--log-format text`` for people); SIGTERM or
Ctrl-C stop it between steps with exit code 0, and a restart goes on from there. The status
endpoints listen on loopback unless ``--listen-public`` says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import TYPE_CHECKING

from batcher_gui.cli.common import EXIT_OK, AddCommand
from batcher_gui.domain.listen import parse_listen, require_loopback
from batcher_gui.server.headless import run_headless
from batcher_gui.server.logs import log_to_stdout

if TYPE_CHECKING:
    from batcher_gui.app import Service

DEFAULT_LISTEN = "127.0.0.1:9187"


def register(add: AddCommand) -> None:
    p = add("serve", "run the engine without a window (for a server): logs on stdout, "
                     "/healthz and /metrics over HTTP, stops cleanly on SIGTERM", cmd_serve)
    p.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                   help=f"where /healthz and /metrics answer (default {DEFAULT_LISTEN}; port 0: "
                        "any free port, said in the first log line)")
    p.add_argument("--listen-public", action="store_true",
                   help="allow a --listen address other machines can reach (e.g. 0.0.0.0 in "
                        "a container)")
    p.add_argument("--intake", metavar="HOST:PORT",
                   help="also run the intake API there (scripts post prompts to it; off by "
                        "default)")
    p.add_argument("--intake-public", action="store_true",
                   help="allow an --intake address other machines can reach")
    p.add_argument("--log-format", choices=("json", "text"), default="json",
                   help="stdout log lines: one JSON object each (default), or text")
    p.set_defaults(setup_logging=setup_logging, check_args=check_args)


def setup_logging(args: argparse.Namespace) -> None:
    """Instead of the command line's terminal log: the whole log on stdout."""
    log_to_stdout(args.log_format, verbose=args.verbose)


def check_args(args: argparse.Namespace) -> None:
    """Refuse bad addresses before the workspace is opened (raises InvalidInput)."""
    require_loopback(parse_listen(args.listen), allowed=args.listen_public)
    if args.intake is not None:
        require_loopback(parse_listen(args.intake, option="--intake"),
                         allowed=args.intake_public, option="--intake",
                         allow_flag="--intake-public")


async def cmd_serve(args: argparse.Namespace, service: Service) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Left in place until the loop ends: a second signal while stopping changes nothing.
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_headless(
        service, listen=parse_listen(args.listen), stop=stop,
        intake=None if args.intake is None else parse_listen(args.intake, option="--intake"),
        intake_options={"public": True} if args.intake_public else {})
    return EXIT_OK
