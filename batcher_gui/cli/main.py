"""The ``batcher`` command line: the same workspace and engine as the window, for scripts.

Exit codes: 0 success, 1 a problem Batcher explains (nothing found, provider refused...),
2 invalid input or usage (nothing was changed).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from tqdm import tqdm

from batcher_gui.cli import engine_cmds
from batcher_gui.domain.endpoints import ENDPOINTS, resolve_endpoint
from batcher_gui.domain.errors import BatcherError, ImportValidationError
from batcher_gui.domain.models import ImportOptions, InputFormat
from batcher_gui.domain.pricing import PriceTable
from batcher_gui.engine.export import ExportFormat, export_run
from batcher_gui.engine.imports import import_file
from batcher_gui.storage import Store

EXIT_OK, EXIT_PROBLEM, EXIT_INVALID = 0, 1, 2


def _workspace_option(parser: argparse.ArgumentParser, *, sub: bool) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        # On subcommands SUPPRESS keeps a value given before the subcommand.
        default=argparse.SUPPRESS if sub else None,
        help="workspace folder (default: $BATCHER_HOME, DATABASE_URL, or the per-user data dir)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batcher",
        description="Run large sets of LLM prompts through provider batch APIs.",
    )
    _workspace_option(parser, sub=False)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    subs = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = subs.add_parser("import", help="import a prompt file as a new run")
    _workspace_option(p, sub=True)
    p.add_argument("file", help="JSONL (OpenAI batch format), CSV/TSV, or text (one per line)")
    p.add_argument("--format", choices=[f.value for f in InputFormat],
                   help="file format (default: from the extension)")
    p.add_argument("--model", help="model for CSV/text; for JSONL, replaces every line's model")
    p.add_argument("--endpoint",
                   help="endpoint for CSV/text, e.g. chat, responses, embeddings "
                        f"(default chat; any of {', '.join(ENDPOINTS)})")
    p.add_argument("--profile", help="provider profile (default: the workspace default)")
    p.add_argument("--template", help="prompt template with {column} placeholders (CSV/TSV)")
    p.add_argument("--system", help="system prompt (CSV/TSV/text)")
    p.add_argument("--id-column", help="CSV column holding your custom_id")
    p.add_argument("--name", help="run name (default: the file name)")
    p.add_argument("--deliver-to", metavar="FOLDER|URL",
                   help="deliver results as they finish: a folder, or an http(s) webhook URL")
    p.add_argument("--valid-only", action="store_true",
                   help="import the valid lines and report the others (default: all or nothing)")
    p.set_defaults(handler=cmd_import)

    p = subs.add_parser("status", help="prompts and batches by state, per run")
    _workspace_option(p, sub=True)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_status)

    p = subs.add_parser("export", help="write a run's prompts and results to a file")
    _workspace_option(p, sub=True)
    p.add_argument("run", help="run name or number")
    p.add_argument("--out", required=True, help="output file")
    p.add_argument("--format", choices=[f.value for f in ExportFormat], default=None,
                   help="jsonl or csv (default: from --out's extension, else jsonl)")
    p.set_defaults(handler=cmd_export)

    engine_cmds.register(subs, lambda sub: _workspace_option(sub, sub=True))
    return parser


def _open(args: argparse.Namespace) -> Store:
    return engine_cmds.open_workspace(args)[0]


def _bar(total: int, unit: str, desc: str) -> tqdm:
    # disable=None: draw only on a terminal, stay silent in pipes and CI logs.
    return tqdm(total=total, unit=unit, unit_scale=True, desc=desc, disable=None, leave=False,
                file=sys.stderr)


def cmd_import(args: argparse.Namespace) -> int:
    endpoint = None
    if args.endpoint:
        endpoint = resolve_endpoint(args.endpoint)
        if endpoint is None:
            print(f"error: --endpoint {args.endpoint!r} is not supported; use one of "
                  f"{', '.join(ENDPOINTS)}", file=sys.stderr)
            return EXIT_INVALID
    options = ImportOptions(
        format=InputFormat(args.format) if args.format else None,
        model=args.model, endpoint=endpoint, template=args.template, system=args.system,
        id_column=args.id_column, valid_only=args.valid_only,
    )
    store = _open(args)
    size = Path(args.file).stat().st_size if Path(args.file).is_file() else 0
    with _bar(size, "B", "importing") as bar:
        def progress(done: int, _total: int) -> None:
            bar.update(done - bar.n)

        summary = import_file(store, args.file, options, profile_name=args.profile,
                              run_name=args.name, progress=progress)
    run = summary.run
    if args.deliver_to:
        is_url = args.deliver_to.startswith(("http://", "https://"))
        print(engine_cmds.set_delivery(store, str(run.id), None if is_url else args.deliver_to,
                                       args.deliver_to if is_url else None))
    print(f"Imported {summary.prompts} prompt(s) as run #{run.id} {run.name!r} "
          f"into {len(summary.drafts)} draft batch(es): "
          f"{', '.join(f'#{b}' for b in summary.drafts)}")
    if summary.skipped:
        print(f"Skipped {summary.skipped} invalid line(s):", file=sys.stderr)
        for line in summary.errors[:20]:
            print(f"  {line}", file=sys.stderr)
        if summary.skipped > 20:
            print(f"  ... and {summary.skipped - 20} more", file=sys.stderr)
    return EXIT_OK


def _usage(rows: list[tuple[str, int, int]], prices: PriceTable) -> dict[str, Any]:
    costs = [prices.cost(model, tin, tout) for model, tin, tout in rows]
    known = [c for c in costs if c is not None]
    return {"input_tokens": sum(r[1] for r in rows), "output_tokens": sum(r[2] for r in rows),
            "cost_usd": round(sum(known), 6) if known else None}


def status_payload(store: Store) -> dict[str, Any]:
    status = store.status()
    usage = store.usage_by_run()
    prices = PriceTable(store.get_setting("prices", {}))
    return {
        "workspace": str(store.db.path.parent),
        "runs": [
            {"id": r.run.id, "name": r.run.name, "prompts": r.run.prompt_count,
             "source": r.run.source_path, "by_state": r.prompts_by_state,
             **_usage(usage.get(r.run.id, []), prices)}
            for r in status.runs
        ],
        "batches": status.batches_by_state,
    }


def cmd_status(args: argparse.Namespace) -> int:
    payload = status_payload(_open(args))
    if args.json:
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    print(f"Workspace: {payload['workspace']}")
    if not payload["runs"]:
        print("No runs yet. Import a file:  batcher import prompts.jsonl")
        return EXIT_OK
    print("Runs:")
    for run in payload["runs"]:
        states = ", ".join(f"{s} {n}" for s, n in sorted(run["by_state"].items()))
        cost = f"  ${run['cost_usd']:.4f}" if run["cost_usd"] is not None else ""
        tokens = (f"  tokens {run['input_tokens']:,} in / {run['output_tokens']:,} out"
                  if run["input_tokens"] or run["output_tokens"] else "")
        print(f"  #{run['id']:<4} {run['name']:<30} {run['prompts']:>9} prompts   {states}"
              f"{tokens}{cost}")
    batches = ", ".join(f"{s} {n}" for s, n in sorted(payload["batches"].items()))
    print(f"Batches: {batches or 'none'}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    fmt = args.format or ("csv" if args.out.lower().endswith((".csv", ".tsv")) else "jsonl")
    store = _open(args)
    run = store.find_run(args.run)
    with _bar(run.prompt_count, "prompt", "exporting") as bar:
        n = export_run(store, args.run, args.out, ExportFormat(fmt),
                       progress=lambda done, _t: bar.update(done - bar.n))
    print(f"Exported {n} prompt(s) of run #{run.id} {run.name!r} to {args.out}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args))
    except ImportValidationError as exc:
        print(f"error: nothing was imported; {exc.total} problem(s) found:", file=sys.stderr)
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except BatcherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
