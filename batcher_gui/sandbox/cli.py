"""Command-line knobs: `python -m batcher_gui.sandbox --port 8089 --state-dir D ...`."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .config import FAULT_KINDS, OUTCOMES, FaultSpec, SandboxConfig

#: The sandbox's token from the environment (unlike ``--token``, not shown by `ps`).
TOKEN_ENV = "BATCHER_SANDBOX_TOKEN"


def parse_fault(text: str) -> tuple[str, FaultSpec]:
    """`ROUTE=RATE:KIND[,KIND][:MAX]`, e.g. `batches.create=0.3:500,drop_after` or `*=0.1:429`."""
    route, sep, rest = text.partition("=")
    parts = rest.split(":")
    if not sep or not route or len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"expected ROUTE=RATE:KIND[,KIND][:MAX], got {text!r}")
    try:
        spec = FaultSpec(
            rate=float(parts[0]),
            kinds=tuple(k.strip() for k in parts[1].split(",") if k.strip()),
            max_count=int(parts[2]) if len(parts) == 3 else None,
        )
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return route.strip(), spec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    add("--port", type=int, default=0, help="port (0 = any free port)")
    add("--state-dir", type=Path, default=None, help="state directory (default: a temp dir)")
    add("--steps-per-poll", type=int, default=1, help="lifecycle steps per batch read")
    add("--step-seconds", type=float, default=0.0, help="one lifecycle step per N seconds")
    add("--progress-steps", type=int, default=2, help="in_progress steps before finalizing")
    add("--cancel-steps", type=int, default=1, help="steps spent in 'cancelling'")
    add("--instant", action="store_true", help="batches complete inside batches.create")
    add("--error-rate", type=float, default=0.0, help="share of requests answered 400")
    add("--fail-batch", metavar="CODE", default=None, help="fail every batch with CODE")
    add(
        "--token-limit-failures",
        type=int,
        default=0,
        metavar="N",
        help="fail the first N batches per endpoint+model with token_limit_exceeded",
    )
    add("--outcome", choices=OUTCOMES, default="complete",
        help="how batches end: complete, expire (partial output) or cancel_partial")
    add("--partial-fraction", type=float, default=0.5, help="share done when expiring/cancelling")
    add(
        "--no-expired-error-lines",
        action="store_true",
        help="expired batches get no batch_expired lines in the error file",
    )
    add(
        "--fault",
        action="append",
        type=parse_fault,
        default=[],
        metavar="ROUTE=RATE:KINDS",
        help=f"inject HTTP faults; kinds: {', '.join(FAULT_KINDS)}; repeatable",
    )
    add("--fault-after-apply", action="store_true", help="inject faults after applying")
    add("--queue-limit", type=int, default=None, metavar="N",
        help="Anthropic face: requests that may be processing at once across Message Batches; "
             "a create past it gets 429 rate_limit_error")
    add("--not-found-reads", type=int, default=0, metavar="N",
        help="Anthropic face: the first N retrieves and result downloads of a new batch 404")
    add("--archive-after-seconds", type=float, default=29 * 24 * 3600, metavar="S",
        help="Anthropic face: an ended Message Batch is archived S seconds after its "
             "creation (results gone; default 29 days)")
    add("--timeout-seconds", type=float, default=2.0, help="stall of a 'timeout' fault")
    add("--seed", type=int, default=0, help="seed for faults and output order")
    add("--api-key", action="append", default=[], metavar="KEY",
        help="also accept this key (repeatable); others get 401 invalid_api_key")
    add("--token", default=None,
        help=f"the API key the sandbox accepts (default: ${TOKEN_ENV}, else a new random "
             "one, printed or written to --token-file); visible to `ps`: prefer the variable")
    add("--token-file", type=Path, default=None, metavar="PATH",
        help="write the made-up token to this new owner-only file instead of printing it")


def token_from_args(ns: argparse.Namespace) -> str | None:
    """The token the caller chose (``--token`` or the environment), or None: make one up."""
    token: str | None = ns.token or os.environ.get(TOKEN_ENV, "").strip() or None
    return token


def config_from_args(ns: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        steps_per_poll=ns.steps_per_poll,
        step_seconds=ns.step_seconds,
        progress_steps=ns.progress_steps,
        cancel_steps=ns.cancel_steps,
        instant=ns.instant,
        request_error_rate=ns.error_rate,
        batch_failure=ns.fail_batch,
        token_limit_failures=ns.token_limit_failures,
        outcome=ns.outcome,
        partial_fraction=ns.partial_fraction,
        expired_error_lines=not ns.no_expired_error_lines,
        faults=dict(ns.fault),
        fault_after_apply=ns.fault_after_apply,
        timeout_seconds=ns.timeout_seconds,
        seed=ns.seed,
        api_keys=tuple(ns.api_key),
        queue_limit=ns.queue_limit,
        not_found_reads=ns.not_found_reads,
        archive_after_seconds=ns.archive_after_seconds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m batcher_gui.sandbox",
        description="A local, protocol-faithful OpenAI Files + Batches and Anthropic Message "
                    "Batches sandbox.",
    )
    add_arguments(parser)
    ns = parser.parse_args(argv)
    try:
        config = config_from_args(ns)
    except ValueError as exc:
        parser.error(str(exc))
    state_dir = ns.state_dir or Path(tempfile.mkdtemp(prefix="batcher-sandbox-"))
    from .server import serve_forever  # aiohttp: only when a server really starts

    serve_forever(state_dir, config, ns.host, ns.port, token_from_args(ns), ns.token_file)
    return 0
