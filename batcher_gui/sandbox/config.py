"""Knobs of the sandbox server.

`SandboxConfig` is server-wide and mutable at runtime (tests flip knobs on a live
server). The lifecycle subset (`BatchKnobs`) can also be overridden per batch through
metadata keys prefixed ``sandbox_`` so that one server can serve many scenarios at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Final

ROUTE_KEYS: Final = (
    "files.create",
    "files.retrieve",
    "files.content",
    "files.delete",
    "files.list",
    "batches.create",
    "batches.retrieve",
    "batches.list",
    "batches.cancel",
    # Anthropic's face (see anthropic_api.py)
    "messages.batches.create",
    "messages.batches.retrieve",
    "messages.batches.list",
    "messages.batches.cancel",
    "messages.batches.delete",
    "messages.batches.results",
    "messages.count_tokens",
)
# 529 is Anthropic's "overloaded" (OpenAI routes answer it too, in OpenAI's error shape).
BASE_FAULT_KINDS: Final = ("429", "500", "529", "timeout", "drop")
# "<kind>_after" applies the request first and then loses the answer: the hazard of a
# create that succeeded server-side while the client saw an error.
FAULT_KINDS: Final = BASE_FAULT_KINDS + tuple(f"{k}_after" for k in BASE_FAULT_KINDS)
OUTCOMES: Final = ("complete", "expire", "cancel_partial")
METADATA_PREFIX: Final = "sandbox_"


@dataclass(frozen=True)
class FaultSpec:
    """Inject a fault into a fraction `rate` of the requests of one route.

    `kinds` are drawn uniformly (seeded RNG). `after_apply` turns every kind into its
    `_after` variant. `max_count` caps how many faults this spec injects in total
    (e.g. rate=1, max_count=1: "the first call fails, the retry succeeds").
    """

    rate: float = 1.0
    kinds: tuple[str, ...] = ("500",)
    after_apply: bool = False
    max_count: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be within [0, 1], got {self.rate}")
        if not self.kinds:
            raise ValueError("a fault needs at least one kind")
        bad = [k for k in self.kinds if k not in FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kind(s) {bad}; expected some of {FAULT_KINDS}")


@dataclass
class SandboxConfig:
    """All knobs, with defaults that give a realistic, poll-driven, fault-free server."""

    # --- progression -------------------------------------------------------------
    steps_per_poll: int = 1  # lifecycle steps applied per GET of a batch (or a list page)
    step_seconds: float = 0.0  # one step per this many wall seconds, evaluated lazily
    instant: bool = False  # run to a terminal state inside batches.create
    progress_steps: int = 2  # in_progress steps before finalizing (request_counts grow)
    cancel_steps: int = 1  # steps spent in `cancelling` before `cancelled`
    # --- outcomes -----------------------------------------------------------------
    request_error_rate: float = 0.0  # share of requests answered 400 (deterministic hash)
    batch_failure: str | None = None  # fail every batch at validation with this code
    token_limit_failures: int = 0  # fail the first N batches per endpoint+model
    token_limit: int = 2_000_000  # only used in the token_limit_exceeded message
    outcome: str = "complete"  # complete | expire | cancel_partial
    partial_fraction: float = 0.5  # share of requests done when expiring / self-cancelling
    expired_error_lines: bool = True  # write batch_expired lines for unfinished requests
    cancelled_error_lines: bool = False  # write batch_cancelled lines (unverified on OpenAI)
    # --- HTTP faults --------------------------------------------------------------
    faults: dict[str, FaultSpec] = field(default_factory=dict)  # route key or "*"
    fault_after_apply: bool = False  # every fault is injected after the action applied
    timeout_seconds: float = 2.0  # how long a "timeout" fault stalls
    retry_after_ms: int = 10  # sent with 429 faults so SDK retries are fast
    # --- Anthropic face -----------------------------------------------------------
    # Requests that may wait in the processing queue across batches (None = no limit); a
    # create that would exceed it is refused with 429 rate_limit_error.
    queue_limit: int | None = None
    # The first N retrieves and the first N results downloads of every new Message Batch
    # answer 404 (Anthropic's eventual consistency right after create).
    not_found_reads: int = 0
    # An ended Message Batch is archived this long after its creation (results gone).
    archive_after_seconds: float = 29 * 24 * 3600
    max_message_batch_bytes: int = 256 * 1024 * 1024
    max_message_batch_requests: int = 100_000
    # --- misc ---------------------------------------------------------------------
    # Keys accepted besides the server's token (a stand-in for a provider with real keys);
    # any other key is refused (401 invalid_api_key).
    api_keys: tuple[str, ...] = ()
    max_batch_file_bytes: int = 200 * 1024 * 1024
    organization: str = "org-sandbox"
    seed: int = 0

    def __post_init__(self) -> None:
        for key in self.faults:
            if key != "*" and key not in ROUTE_KEYS:
                raise ValueError(
                    f"unknown fault route {key!r}; expected '*' or one of {ROUTE_KEYS}"
                )
        self.knobs()  # validates the lifecycle subset
        if self.queue_limit is not None and self.queue_limit < 0:
            raise ValueError("queue_limit must be >= 0")
        if self.not_found_reads < 0:
            raise ValueError("not_found_reads must be >= 0")
        if self.archive_after_seconds < 0:
            raise ValueError("archive_after_seconds must be >= 0")

    def knobs(self) -> BatchKnobs:
        """The server-wide lifecycle knobs (before any per-batch override)."""
        return BatchKnobs(**{name: getattr(self, name) for name in _KNOB_FIELDS})


@dataclass(frozen=True)
class BatchKnobs:
    """The lifecycle knobs one batch runs with (server config + its metadata overrides)."""

    steps_per_poll: int
    step_seconds: float
    instant: bool
    progress_steps: int
    cancel_steps: int
    request_error_rate: float
    batch_failure: str | None
    token_limit_failures: int
    token_limit: int
    outcome: str
    partial_fraction: float
    expired_error_lines: bool
    cancelled_error_lines: bool

    def __post_init__(self) -> None:
        checks = (
            (self.steps_per_poll >= 0, "steps_per_poll must be >= 0"),
            (self.step_seconds >= 0, "step_seconds must be >= 0"),
            (self.progress_steps >= 1, "progress_steps must be >= 1"),
            (self.cancel_steps >= 0, "cancel_steps must be >= 0"),
            (0.0 <= self.request_error_rate <= 1.0, "request_error_rate must be within [0, 1]"),
            (self.token_limit_failures >= 0, "token_limit_failures must be >= 0"),
            (self.outcome in OUTCOMES, f"outcome must be one of {OUTCOMES}"),
            (0.0 <= self.partial_fraction <= 1.0, "partial_fraction must be within [0, 1]"),
            (self.batch_failure is None or self.batch_failure != "", "batch_failure is empty"),
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


_KNOB_FIELDS: Final = {f.name: f for f in dataclasses.fields(BatchKnobs)}


def _parse_value(name: str, raw: str) -> object:
    kind = str(_KNOB_FIELDS[name].type)
    text = raw.strip()
    if kind == "bool":
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{name}: expected a boolean, got {raw!r}")
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "str | None":
        return None if text.lower() in ("", "none", "null") else text
    return text


def metadata_overrides(metadata: dict[str, str] | None) -> dict[str, object]:
    """Parse the ``sandbox_*`` metadata keys; raises ValueError on unknown keys/values."""
    result: dict[str, object] = {}
    for key, raw in (metadata or {}).items():
        if not key.startswith(METADATA_PREFIX):
            continue
        name = key[len(METADATA_PREFIX) :]
        if name not in _KNOB_FIELDS:
            raise ValueError(f"unknown sandbox knob {key!r}; known: {sorted(_KNOB_FIELDS)}")
        result[name] = _parse_value(name, raw)
    return result


def knobs_for(config: SandboxConfig, overrides: dict[str, object]) -> BatchKnobs:
    """Resolve knobs live, so a test flipping a server knob also moves running batches."""
    return dataclasses.replace(config.knobs(), **overrides)  # type: ignore[arg-type]
