"""Commands that steer the engine: submit, sync, cancel, retry, deliver, redeliver."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from batcher_gui.cli import said
from batcher_gui.cli.common import EXIT_OK, AddCommand, say
from batcher_gui.cli.sync_view import run_sync
from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.outcomes import CancelOutcome
from batcher_gui.domain.wording import plural

if TYPE_CHECKING:
    from batcher_gui.app import Service

RUN_HELP = "run number (#3) or name"


def register(add: AddCommand) -> None:
    p = add("submit", "seal draft batches now so the engine sends them", cmd_submit)
    p.add_argument("--run", help=f"only this run's drafts ({RUN_HELP})")
    p.add_argument("--allow-over-budget", action="store_true",
                   help="send even if a run passes its profile's budget (per run or month)")

    p = add("sync", "run the engine: send, poll, download and apply results", cmd_sync)
    p.add_argument("--wait", action="store_true",
                   help="keep going until nothing is in flight, showing progress")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="with --wait: give up waiting after S seconds (default: wait until "
                        "nothing is in flight)")
    p.set_defaults(interrupted="stopped between steps; nothing is lost, `batcher sync` "
                               "goes on from here")

    p = add("cancel", "cancel a batch, or every batch of a run (results finished so far are "
                      "kept)", cmd_cancel)
    p.add_argument("batch", type=int, nargs="?", metavar="BATCH",
                   help="batch number (see `batcher batches`)")
    p.add_argument("--run", help=f"cancel every unfinished batch of this run ({RUN_HELP})")

    p = add("retry", "restart failed batches; with --failed also resend failed prompts",
            cmd_retry)
    p.add_argument("--run", help=f"only this run ({RUN_HELP})")
    p.add_argument("--failed", action="store_true",
                   help="also send failed and expired prompts again, in new batches "
                        "(results whose delivery failed are left alone: see redeliver)")

    p = add("deliver", "set where a run's results go as they finish", cmd_deliver)
    p.add_argument("run", help=RUN_HELP)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--folder", help="append results to <run>.jsonl and <run>.csv there")
    where.add_argument("--webhook", help="POST each result to this http(s) URL")
    where.add_argument("--none", action="store_true", help="no delivery (processed is the end)")

    p = add("redeliver", "deliver a run's results again", cmd_redeliver)
    p.add_argument("run", help=RUN_HELP)
    p.add_argument("--failed", action="store_true", help="only results whose delivery failed")


async def cmd_submit(args: argparse.Namespace, service: Service) -> int:
    outcome = await service.submit(args.run, allow_over_budget=args.allow_over_budget)
    for line in said.submitted(outcome):
        say(line)
    return EXIT_OK


async def cmd_sync(args: argparse.Namespace, service: Service) -> int:
    return await run_sync(service, wait=args.wait, timeout=args.timeout)


async def cmd_cancel(args: argparse.Namespace, service: Service) -> int:
    if (args.batch is None) == (args.run is None):
        raise InvalidInput("give a batch number or --run RUN (one of them)")
    outcome: CancelOutcome = (await service.cancel_batch(args.batch) if args.batch is not None
                              else await service.cancel_run(args.run))
    for line in said.cancelled(outcome):
        say(line)
    return EXIT_OK


async def cmd_retry(args: argparse.Namespace, service: Service) -> int:
    outcome = await service.retry(args.run, prompts_too=args.failed)
    for line in said.retried(outcome):
        say(line)
    return EXIT_OK


async def cmd_deliver(args: argparse.Namespace, service: Service) -> int:
    say(said.delivery_set(await service.set_delivery(args.run, folder=args.folder,
                                                     webhook=args.webhook)))
    return EXIT_OK


async def cmd_redeliver(args: argparse.Namespace, service: Service) -> int:
    run = await service.find_run(args.run)
    n = await service.redeliver(run.id, failed_only=args.failed)
    say(f"{plural(n, 'result')} of run {run.label} will be delivered again by the next sync.")
    return EXIT_OK
