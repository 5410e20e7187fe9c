"""How many input tokens a provider lets wait in its batch queue, per model — and whether a
batch fits beside those already there.

OpenAI limits the input tokens of a project's batches that are enqueued at once, per model
("enqueued token limit"); a batch created past it fails with ``token_limit_exceeded``.
Batcher sends a batch only when its tokens fit (``admits``), so the limit is never hit. The
limits are the predecessor's Tier-1 table (longest model-name prefix), overridden by the
workspace setting ``token_limits`` (``{"gpt-4o": N}``, or ``{"PROFILE/gpt-4o": N}`` for one
profile). Profiles other than OpenAI and Azure have no limit unless one is set for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Tier-1 enqueued-token limits by model prefix (raise them for higher tiers in Settings).
TIER1_LIMITS: dict[str, int] = {
    "gpt-4o-mini": 2_000_000, "gpt-4o": 90_000,
    "gpt-4.1-nano": 2_000_000, "gpt-4.1-mini": 2_000_000, "gpt-4.1": 900_000,
    "gpt-5-nano": 2_000_000, "gpt-5-mini": 5_000_000, "gpt-5": 1_500_000,
    "o4-mini": 2_000_000, "o3-mini": 2_000_000, "o3": 90_000, "o1": 90_000,
    "gpt-3.5-turbo": 2_000_000, "gpt-4-turbo": 90_000, "gpt-4": 100_000,
    "text-embedding-3": 3_000_000, "text-embedding-ada-002": 3_000_000,
    "omni-moderation": 3_000_000,
}
#: A model of an OpenAI profile in no table.
FALLBACK_LIMIT = 250_000


def _longest(table: Mapping[str, int], model: str) -> int | None:
    best: tuple[str, int] | None = None
    for prefix, limit in table.items():
        if model.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, limit)
    return None if best is None else best[1]


def token_limit(profile: str, model: str, overrides: Mapping[str, int], *,
                tiered: bool) -> int | None:
    """The enqueued-token limit of ``model`` on ``profile`` (None: no limit).

    Order: an override for this profile (``"profile/prefix"``), an override for every profile
    (``"prefix"``), then — for OpenAI-kind profiles (``tiered``) — the Tier-1 table and the
    fallback. The longest matching prefix wins within each."""
    name, mine = model.lower(), f"{profile.lower()}/"
    own = {k[len(mine):]: v for k, v in overrides.items() if k.startswith(mine)}
    shared = {k: v for k, v in overrides.items() if "/" not in k}
    for table in (own, shared, TIER1_LIMITS if tiered else {}):
        found = _longest(table, name)
        if found is not None:
            return found
    return FALLBACK_LIMIT if tiered else None


@dataclass(frozen=True, slots=True)
class Admission:
    """The verdict on one batch: sent now, or why it waits."""

    admitted: bool
    needed: int
    in_flight: int
    limit: int | None
    held: str = ""  # held for another reason than room (over budget)

    @property
    def reason(self) -> str:
        if self.held:
            return self.held
        if self.admitted or self.limit is None:
            return ""
        return (f"waiting for room in the token queue: {self.needed:,} tokens do not fit beside "
                f"{self.in_flight:,} in flight (limit {self.limit:,})")


def admits(needed: int, in_flight: int, limit: int | None) -> Admission:
    """Admit a batch of ``needed`` input tokens beside ``in_flight`` ones of the same model.

    A batch larger than the limit on its own is admitted when nothing else is in flight (it
    could never fit otherwise; the provider decides, and drafts are sized to avoid it)."""
    ok = limit is None or needed + in_flight <= limit or in_flight == 0
    return Admission(ok, needed, in_flight, limit)


#: Anthropic's tiers: how many batch requests may wait in the processing queue at once, shared
#: by every model of the workspace (counted in requests, not tokens).
ANTHROPIC_TIERS: dict[str, int] = {"start": 200_000, "build": 300_000, "scale": 500_000}
#: The tier a Claude profile is taken to have until the user says (the lowest: never over).
DEFAULT_ANTHROPIC_TIER = "start"
#: The profile option holding the tier's name or a number of requests.
TIER_OPTION = "tier"


def queue_limit(options: Mapping[str, object]) -> int:
    """Requests a Claude profile may have waiting at Anthropic at once, from its ``tier``
    option: a tier's name (start / build / scale) or a number; the Start tier otherwise."""
    tier = options.get(TIER_OPTION, DEFAULT_ANTHROPIC_TIER)
    if isinstance(tier, int) and not isinstance(tier, bool) and tier > 0:
        return tier
    if isinstance(tier, str):
        text = tier.strip().lower().replace(",", "").replace("_", "")
        if text.isdigit() and int(text) > 0:
            return int(text)
        if text in ANTHROPIC_TIERS:
            return ANTHROPIC_TIERS[text]
    return ANTHROPIC_TIERS[DEFAULT_ANTHROPIC_TIER]


@dataclass(frozen=True, slots=True)
class QueueAdmission:
    """The verdict on one Claude batch: its requests fit beside those waiting, or not."""

    admitted: bool
    requests: int
    waiting: int
    limit: int

    @property
    def reason(self) -> str:
        if self.admitted:
            return ""
        return (f"waiting for room in Anthropic's processing queue: {self.requests:,} requests "
                f"do not fit beside {self.waiting:,} waiting (limit {self.limit:,})")


def admits_requests(requests: int, waiting: int, limit: int) -> QueueAdmission:
    """Admit a batch of ``requests`` beside ``waiting`` ones of the same profile (a batch
    larger than the limit alone goes when nothing else waits: the provider decides)."""
    ok = requests + waiting <= limit or waiting == 0
    return QueueAdmission(ok, requests, waiting, limit)
