"""Commands about data: import, status, export, batches."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from batcher_gui.cli import said
from batcher_gui.cli.common import EXIT_INVALID, EXIT_OK, AddCommand, bar, say, shown
from batcher_gui.domain.endpoints import DEFAULT_MAX_TOKENS, ENDPOINTS, resolve_endpoint
from batcher_gui.domain.events import Event, ExportProgress, ImportProgress
from batcher_gui.domain.models import ImportOptions, InputFormat
from batcher_gui.domain.wording import duration_words, plural

if TYPE_CHECKING:
    from batcher_gui.app import Service

RUN_HELP = "run number (#3) or name"


def add_file_options(p: argparse.ArgumentParser) -> None:
    """How to read a prompt file: shared by ``import`` and ``estimate``."""
    p.add_argument("file", help="JSONL (OpenAI batch format, or Claude Message Batches lines), "
                                "a Message Batches requests .json file, CSV/TSV, Excel .xlsx, "
                                "or text (one prompt per line)")
    p.add_argument("--format", choices=[f.value for f in InputFormat],
                   help="file format (default: from the extension and content)")
    p.add_argument("--model",
                   help="model for CSV/XLSX/text; for JSONL, replaces every line's model")
    p.add_argument("--endpoint",
                   help="endpoint for CSV/XLSX/text, e.g. chat, responses, embeddings "
                        f"(default chat; any of {', '.join(ENDPOINTS)}); a Claude profile "
                        "always uses /v1/messages")
    p.add_argument("--max-tokens", type=positive_int, metavar="N",
                   help="Claude profiles: max_tokens of each request made from CSV/XLSX/text "
                        f"(default {DEFAULT_MAX_TOKENS}), and of JSONL requests that set none")
    p.add_argument("--profile", help="provider profile (default: the workspace default)")
    p.add_argument("--template", help="prompt template with {column} placeholders (CSV/TSV/XLSX)")
    p.add_argument("--system", help="system prompt (CSV/TSV/XLSX/text)")
    p.add_argument("--id-column", help="CSV/XLSX column holding your custom_id")
    p.add_argument("--sheet", metavar="NAME",
                   help="worksheet to read from an Excel .xlsx workbook (default: the first)")


def import_options(args: argparse.Namespace) -> ImportOptions | None:
    """The options given with :func:`add_file_options` (None: a bad --endpoint, said)."""
    endpoint = None
    if args.endpoint:
        endpoint = resolve_endpoint(args.endpoint)
        if endpoint is None:
            say(f"error: --endpoint {args.endpoint!r} is not supported; use one of "
                f"{', '.join(ENDPOINTS)}", err=True)
            return None
    return ImportOptions(
        format=InputFormat(args.format) if args.format else None, model=args.model,
        endpoint=endpoint, template=args.template, system=args.system,
        id_column=args.id_column, valid_only=getattr(args, "valid_only", False),
        sheet=args.sheet, max_tokens=args.max_tokens)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def file_size(path: str) -> int:
    """Bytes of ``path`` for a progress bar (0 when it is no file: the command says why)."""
    return Path(path).stat().st_size if Path(path).is_file() else 0


def register(add: AddCommand) -> None:
    p = add("import", "import a prompt file as a new run", cmd_import)
    add_file_options(p)
    p.add_argument("--name", help="run name (default: the file name)")
    p.add_argument("--deliver-to", metavar="FOLDER|URL",
                   help="deliver results as they finish: a folder, or an http(s) webhook URL")
    p.add_argument("--valid-only", action="store_true",
                   help="import the valid lines and report the others (default: all or nothing)")
    p.set_defaults(interrupted="nothing was imported")

    p = add("status", "prompts and batches by state, per run, with tokens and cost", cmd_status)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = add("export", "write a run's prompts and results to a file", cmd_export)
    p.add_argument("run", help=RUN_HELP)
    p.add_argument("--out", required=True, help="output file (.jsonl or .csv)")
    p.add_argument("--format", choices=["jsonl", "csv"], default=None,
                   help="jsonl or csv (default: from --out's extension)")
    p.set_defaults(interrupted="no file was written")

    p = add("delete", "delete a run with its prompts and results (asks first)", cmd_delete)
    p.add_argument("run", help=RUN_HELP)
    p.add_argument("--yes", action="store_true",
                   help="do not ask (needed when no one can answer, e.g. in a script)")

    p = add("batches", "list batches with their state, progress and any wait or problem",
            cmd_batches)
    p.add_argument("--run", help=f"only this run's batches ({RUN_HELP})")
    p.add_argument("--json", action="store_true", help="machine-readable output (a JSON list)")


# -- import ------------------------------------------------------------------------------------
async def cmd_import(args: argparse.Namespace, service: Service) -> int:
    options = import_options(args)
    if options is None:
        return EXIT_INVALID
    with bar(file_size(args.file), "B", "importing") as progress:
        job = service.new_job_id()

        def show(event: Event) -> None:
            if isinstance(event, ImportProgress) and event.job_id == job:
                progress.update(event.done - progress.n)

        unsubscribe = service.subscribe(show)
        try:
            summary = await service.import_file(args.file, options, profile=args.profile,
                                                name=args.name, job_id=job)
        finally:
            unsubscribe()
    run = summary.run
    say(f"Imported {plural(summary.prompts, 'prompt')} as run {run.label} into "
        f"{plural(len(summary.drafts), 'draft batch', 'draft batches')}: "
        f"{said.batch_ids(summary.drafts)}")
    for note in summary.notes:
        say(f"Note: {note}")
    for warning in summary.warnings:
        say(f"warning: {warning}", err=True)
    if args.deliver_to:
        is_url = args.deliver_to.startswith(("http://", "https://"))
        say(said.delivery_set(await service.set_delivery(
            run.id, folder=None if is_url else args.deliver_to,
            webhook=args.deliver_to if is_url else None)))
    if summary.skipped:
        say(f"Skipped {plural(summary.skipped, 'invalid line')}:", err=True)
        for line in summary.errors[:20]:
            say(f"  {line}", err=True)
        if summary.skipped > 20:
            say(f"  ... and {summary.skipped - 20} more", err=True)
    quiet = duration_words(service.engine.settings.quiet_seconds)  # the setting, not a guess
    say(f"Next: `batcher submit` sends the drafts now (else once no prompt has joined them for "
        f"{quiet}), `batcher sync --wait` drives them to the end.")
    return EXIT_OK


# -- status ------------------------------------------------------------------------------------
async def cmd_status(args: argparse.Namespace, service: Service) -> int:
    payload = await service.status_report()
    if args.json:
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    say(f"Workspace: {payload['workspace']}")
    if not payload["runs"]:
        say("No runs yet. Import a file:  batcher import prompts.jsonl")
        return EXIT_OK
    say("Runs:")
    lineages = await service.lineages()
    for run in payload["runs"]:
        progress = said.run_progress(run["by_state"], run["delivery_failures"],
                                     run_id=run["id"])
        tokens = (f"  tokens {run['input_tokens']:,} in / {run['output_tokens']:,} out"
                  if run["input_tokens"] or run["output_tokens"] else "")
        cost = ""
        if run["cost_usd"] is not None:
            cost = f"  ${run['cost_usd']:.4f}"
        if run["unpriced_models"]:
            cost += f"  (no price known for {', '.join(run['unpriced_models'])})"
        say(f"  #{run['id']:<4} {run['name']:<30} {plural(run['prompts'], 'prompt'):>16}   "
            f"{progress}{tokens}{cost}")
        if run["id"] in lineages:
            say(f"        {lineages[run['id']]}")
    batches = ", ".join(f"{s} {n}" for s, n in sorted(payload["batches"].items()))
    say(f"Batches: {batches or 'none'}")
    for name, wait in sorted(payload["waiting_profiles"].items()):
        say(f"Waiting for you: profile {name!r} on the driving machine "
            f"({wait['driver_host']}, process {wait['driver_pid']}): {wait['detail']}")
    return EXIT_OK


# -- export ------------------------------------------------------------------------------------
async def cmd_export(args: argparse.Namespace, service: Service) -> int:
    run = await service.find_run(args.run)
    with bar(run.prompt_count, "prompt", "exporting") as progress:
        job = service.new_job_id()

        def show(event: Event) -> None:
            if isinstance(event, ExportProgress) and event.job_id == job:
                progress.update(event.done - progress.n)

        unsubscribe = service.subscribe(show)
        try:
            n = await service.export_run(run.id, args.out, args.format, job_id=job)
        finally:
            unsubscribe()
    say(f"Exported {plural(n, 'prompt')} of run {run.label} to {args.out}")
    return EXIT_OK


# -- delete ------------------------------------------------------------------------------------
async def cmd_delete(args: argparse.Namespace, service: Service) -> int:
    run = await service.find_run(args.run)
    if not args.yes:
        if not sys.stdin.isatty():
            say(f"error: deleting run {run.label} cannot be undone; add --yes to confirm",
                err=True)
            return EXIT_INVALID
        answer = input(shown(f"Delete run {run.label} with its "
                             f"{plural(run.prompt_count, 'prompt')} and their results? This "
                             "cannot be undone. [y/N] "))
        if answer.strip().lower() not in ("y", "yes"):
            say("Nothing was deleted.")
            return EXIT_OK
    outcome = await service.delete_run(run.id)
    say(f"Deleted run {outcome.run_label} ({plural(outcome.prompts, 'prompt')}).")
    return EXIT_OK


# -- batches -----------------------------------------------------------------------------------
async def cmd_batches(args: argparse.Namespace, service: Service) -> int:
    rows: list[dict[str, Any]] = [
        {"id": b.id, "run": b.run_id, "state": b.state.value, "endpoint": b.endpoint,
         "model": b.model, "requests": b.request_count, "bytes": b.bytes,
         "provider_batch_id": b.provider_batch_id, "provider_status": b.provider_status,
         "completed": b.counts_completed, "failed": b.counts_failed,
         "input_tokens": b.input_tokens, "output_tokens": b.output_tokens,
         "waiting": b.wait_reason, "problem": b.problem, "error": b.error}
        for b in await service.batches(args.run)
    ]
    if args.json:
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    if not rows:
        say("No batches yet. Import a file: batcher import prompts.jsonl")
        return EXIT_OK
    say("progress: done+failed/total requests as the provider reports them")
    for r in rows:
        progress = (f"{r['completed'] or 0}+{r['failed'] or 0}/{r['requests']}"
                    if r["provider_batch_id"] else f"{r['requests']} requests")
        note = r["problem"] or r["waiting"] or r["error"] or ""
        say(f"#{r['id']:<5} run #{r['run'] or '-':<4} {r['state']:<17} {r['model']:<22} "
            f"{progress:<18} {r['provider_batch_id'] or ''} {note}".rstrip())
    return EXIT_OK
