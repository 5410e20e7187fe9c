"""``batcher checks``: show or set a run's checks on answers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from batcher_gui.cli.common import EXIT_OK, AddCommand, say
from batcher_gui.domain.checks import CheckRules, parse_labels, parse_schema
from batcher_gui.domain.errors import InvalidInput

if TYPE_CHECKING:
    from batcher_gui.app import Service
    from batcher_gui.app.checks import RunChecks


def _whole(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def register(add: AddCommand) -> None:
    p = add("checks", "show a run's checks on answers and their counts, or set them "
                      "(the options given replace the run's rules; answers are checked again)",
            cmd_checks)
    p.add_argument("run", help="run number (#3) or name")
    p.add_argument("--json", action="store_true", dest="is_json",
                   help="the answer parses as JSON (a lone ```json fence around it is allowed)")
    p.add_argument("--schema", metavar="FILE",
                   help="the answer is JSON matching this JSON Schema (implies --json)")
    p.add_argument("--labels", metavar="A,B,...",
                   help="the answer is one of these labels (comma-separated)")
    p.add_argument("--ignore-case", action="store_true",
                   help="with --labels: ignore case and surrounding whitespace")
    p.add_argument("--regex", metavar="RE",
                   help="the answer matches this regular expression (anywhere; anchor with ^$)")
    p.add_argument("--max-chars", type=_whole, metavar="N",
                   help="the answer has at most N characters")
    p.add_argument("--clear", action="store_true", help="remove the run's checks")


def rules_from(args: argparse.Namespace) -> CheckRules | None:
    """The rules the options ask for (None: none given, just show)."""
    given = (args.is_json or args.schema is not None or args.labels is not None
             or args.regex is not None or args.max_chars is not None)
    if args.clear:
        if given:
            raise InvalidInput("--clear removes every check: give it alone")
        return CheckRules()
    if args.ignore_case and args.labels is None:
        raise InvalidInput("--ignore-case goes with --labels")
    if not given:
        return None
    schema = None
    if args.schema is not None:
        path = Path(args.schema).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InvalidInput(f"cannot read the schema file {path}: {why}") from None
        schema = parse_schema(text, source=f"schema file {path.name}")
    labels: tuple[str, ...] = ()
    if args.labels is not None:
        labels = parse_labels(args.labels)
        if not labels:
            raise InvalidInput("--labels needs at least one label, e.g. --labels good,bad")
    return CheckRules(json=args.is_json, schema=schema, labels=labels,
                      labels_loose=args.ignore_case, regex=args.regex, max_chars=args.max_chars)


def show(checks: RunChecks) -> None:
    run = checks.run
    say(f"run #{run.id} {run.name}")
    if checks.rules.empty:
        say("  no checks (set some: batcher checks RUN --json --schema FILE --labels A,B "
            "--regex RE --max-chars N)")
        return
    say("  every answer must meet:")
    for line in checks.rules.describe():
        say(f"    - {line}")
    c = checks.counts
    say(f"  {c.passed:,} passed, {c.failed:,} failed, {c.not_checked:,} not checked "
        "(no answer yet, failed at the provider, or still to be checked)")


async def cmd_checks(args: argparse.Namespace, service: Service) -> int:
    rules = rules_from(args)  # checked before anything changes
    if rules is None:
        show(await service.run_checks(args.run))
        return EXIT_OK
    checks = await service.set_checks(args.run, rules)
    say("checks removed" if rules.empty else "checks set; checking the answers...")
    await service.check_answers()
    show(await service.run_checks(checks.run.id))
    return EXIT_OK
