"""``batcher copy-to URL``: move a laptop workspace into a new team workspace (PostgreSQL)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from batcher_gui.cli.common import EXIT_OK, AddCommand, say
from batcher_gui.domain.secrecy import mask
from batcher_gui.domain.wording import plural

if TYPE_CHECKING:
    from batcher_gui.app import Service


def register(add: AddCommand) -> None:
    p = add("copy-to", "copy this workspace (runs, prompts, batches, results, labels, checks) "
            "into a new team workspace in PostgreSQL; its engine then drives them and this one "
            "no longer sends", cmd_copy_to)
    p.add_argument("url", metavar="URL", help="the new workspace: postgresql://user@host/db")


async def cmd_copy_to(args: argparse.Namespace, service: Service) -> int:
    from batcher_gui.app.transfer import copy_to_team

    last = {"table": ""}

    def progress(table: str, done: int, total: int) -> None:
        if table != last["table"] or done == total:
            last["table"] = table
            say(f"  {table}: {done:,} of {total:,}", err=True)

    say(f"Copying {service.paths.shown_database} into {mask(args.url)}…", err=True)
    report = await copy_to_team(service, args.url, progress)
    say(f"Copied {plural(report.rows.get('runs', 0), 'run')}, "
        f"{plural(report.rows.get('prompts', 0), 'prompt')} and "
        f"{plural(report.rows.get('batches', 0), 'batch', 'batches')} "
        f"({report.total:,} rows) into {mask(args.url)}.")
    say("This workspace no longer sends: open the team one with "
        f"--database {mask(args.url)} (its engine drives the batches from now on).")
    return EXIT_OK
