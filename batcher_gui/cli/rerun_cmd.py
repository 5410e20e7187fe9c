"""``batcher rerun RUN``: re-run a run (or some of its prompts) with a change, as a new run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from batcher_gui.cli.common import EXIT_OK, AddCommand, bar, say, shown
from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.money import usd
from batcher_gui.domain.rerun import RerunChange, RerunScope, change_words, parse_option
from batcher_gui.domain.wording import plural

if TYPE_CHECKING:
    from batcher_gui.app import Service

ONLY_HELP = ("which prompts: failed (failed or expired), failed-checks (answers that failed "
             "the run's checks), or ids:FILE (the custom_ids in FILE, one a line); default all")


def register(add: AddCommand) -> None:
    p = add("rerun", "re-run a run's prompts with another model, profile, system prompt, "
                     "template or request options, as a new run", cmd_rerun)
    p.add_argument("run", metavar="RUN", help="the run to re-run: #id or name")
    p.add_argument("--model", help="another model for every request")
    p.add_argument("--profile", help="another profile (OpenAI chat → Claude is converted)")
    system = p.add_mutually_exclusive_group()
    system.add_argument("--system", metavar="TEXT", help="another system prompt ('' removes it)")
    system.add_argument("--system-file", metavar="FILE", help="the system prompt from a file")
    p.add_argument("--template", metavar="T",
                   help="another template ({column} placeholders): the run's CSV/TSV/XLSX "
                        "source file is read again")
    p.add_argument("--option", metavar="KEY=VALUE", action="append", default=[],
                   help="set a request field (temperature=0.2, max_tokens=300; a JSON value; "
                        "KEY=null removes it); repeatable")
    p.add_argument("--only", metavar="WHICH", help=ONLY_HELP)
    p.add_argument("--name", help="the new run's name (default: '<run> → <change>')")
    p.add_argument("--yes", action="store_true",
                   help="make the re-run without asking (else: asked on a terminal; in a "
                        "script only what it would do is printed)")
    p.set_defaults(interrupted="nothing was made")


def _change(args: argparse.Namespace) -> RerunChange:
    system = args.system
    if args.system_file:
        try:
            system = Path(args.system_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read the system prompt from {args.system_file}: "
                               f"{getattr(exc, 'strerror', None) or exc}") from None
    options = dict(parse_option(o) for o in args.option)
    return RerunChange(args.profile, args.model, system, args.template, options)


async def _scope(args: argparse.Namespace, service: Service, run_id: int) -> RerunScope:
    only = (args.only or "all").strip()
    if only == "all":
        return RerunScope.everything()
    if only == "failed":
        return RerunScope.failed()
    if only in ("failed-checks", "failed_checks"):
        return RerunScope.failed_checks()
    if only.startswith("ids:"):
        from batcher_gui.storage import rerun_rows

        path = Path(only[4:])
        try:
            wanted = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                      if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read the custom_ids from {path}: "
                               f"{getattr(exc, 'strerror', None) or exc}") from None
        if not wanted:
            raise InvalidInput(f"{path} holds no custom_ids (one a line)")
        ids, missing = await service.read(rerun_rows.ids_of_custom_ids, service.store.db,
                                          run_id, wanted)
        if missing:
            shown_ids = ", ".join(repr(m) for m in missing[:5])
            more = f" and {len(missing) - 5:,} more" if len(missing) > 5 else ""
            raise InvalidInput(f"run #{run_id} has no prompt with the custom_id {shown_ids}"
                               f"{more} (from {path})")
        return RerunScope.of_ids(ids, words=f"from {path.name}")
    raise InvalidInput(f"--only takes failed, failed-checks or ids:FILE, not {only!r}")


async def cmd_rerun(args: argparse.Namespace, service: Service) -> int:
    change = _change(args)
    origin = await service.find_run(args.run)
    scope = await _scope(args, service, origin.id)
    plan = await service.plan_rerun(origin.id, change, scope)
    say(f"Re-run of run {origin.label}: {plan.which}; {change_words(change)}")
    say(f"  profile {plan.profile.name}; new run {args.name or plan.name!r}")
    estimate = plan.estimate
    if estimate is not None and estimate.cost is not None:
        about = "" if estimate.method == "counted" else "about "
        say(f"  estimate: {about}{estimate.input_tokens:,} input tokens, at most "
            f"{estimate.output_bound:,} output; {usd(estimate.cost.low)} to "
            f"{usd(estimate.cost.high)} at batch prices")
        if not estimate.cost.priced:
            say("warning: some models have no known price and are left out of the cost",
                err=True)
    if not args.yes:
        if not sys.stdin.isatty():
            say("Nothing was made: add --yes to make the re-run.")
            return EXIT_OK
        answer = input(shown(f"Make the re-run of {plural(plan.count, 'prompt')}? [y/N] "))
        if answer.strip().lower() not in ("y", "yes"):
            say("Nothing was made.")
            return EXIT_OK
    with bar(plan.count, "prompt", "re-running") as progress:
        job = service.new_job_id()

        def on_event(event: object) -> None:
            done = getattr(event, "done", None)
            if getattr(event, "job_id", None) == job and isinstance(done, int):
                progress.update(done - progress.n)

        unsubscribe = service.subscribe(on_event)
        try:
            summary = await service.rerun(origin.id, change, scope, name=args.name, job_id=job)
        finally:
            unsubscribe()
    say(f"Made run {summary.run.label}: {plural(summary.prompts, 'prompt')}, {plan.words}. "
        f"It is sent like an import (`batcher submit #{summary.run.id}` sends it now); "
        f"`batcher compare #{origin.id} #{summary.run.id}` compares them.")
    return EXIT_OK
