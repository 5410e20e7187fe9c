"""Checking provider profile fields before they are stored (names, URLs, limits, variables)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from batcher_gui.domain.budget import MONTH_CAP, RUN_CAP
from batcher_gui.domain.capacity import ANTHROPIC_TIERS, TIER_OPTION
from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.models import BUILTIN_SANDBOX_URL, ProfileKind, ProfileLimits

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
#: Limits a profile may set (providers differ; OpenAI's are 50,000 requests and 200 MB).
MAX_REQUESTS_RANGE = (1, 1_000_000)
MAX_BATCH_BYTES_RANGE = (1_000, 2_000_000_000)
POLL_RANGE = (0.1, 86_400.0)
#: Requests a custom Anthropic tier may let wait in the processing queue (Scale holds 500,000;
#: a custom agreement may allow more, but not absurdly more).
TIER_REQUESTS_RANGE = (1, 10_000_000)
#: Anthropic's API root: the SDK adds /v1 to every path itself.
ANTHROPIC_BASE_URL = "https://api.anthropic.com"
#: What a new Claude profile may put in one batch (Anthropic: 100,000 requests or 256 MB).
ANTHROPIC_LIMITS = ProfileLimits(max_requests=100_000, max_batch_bytes=256 * 1000 * 1000)


def default_limits(kind: ProfileKind) -> ProfileLimits:
    """What a new profile of ``kind`` may put in one batch, until the user says otherwise."""
    return ANTHROPIC_LIMITS if kind is ProfileKind.ANTHROPIC else ProfileLimits()


@dataclass(frozen=True, slots=True)
class ProfileFields:
    """What the user gives for a profile (checked by :func:`check_profile`)."""

    name: str
    kind: ProfileKind
    base_url: str | None = None
    key_env: str | None = None
    #: None: the kind's own (:func:`default_limits`); :func:`check_profile` fills them in.
    limits: ProfileLimits | None = None
    options: dict[str, Any] = field(default_factory=dict)


def check_name(name: str) -> str:
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"profile name {name!r} is not allowed: use letters, digits, '.', '_' or '-' "
            "(up to 64, starting with a letter or digit), e.g. groq or azure-eu")
    return name


def check_url(kind: ProfileKind, url: str | None) -> str | None:
    """The base URL, normalised; required for OpenAI-compatible and Azure profiles, optional
    for OpenAI and Anthropic (their own). An Anthropic URL loses a final /v1: the Anthropic
    SDK adds it to every path, so keeping it would ask for /v1/v1/messages."""
    url = (url or "").strip() or None
    if url is None:
        if kind is ProfileKind.OPENAI_COMPATIBLE:
            raise InvalidInput("an OpenAI-compatible profile needs a base URL: the server's API "
                               "root including /v1, e.g. http://localhost:8000/v1")
        if kind is ProfileKind.AZURE:
            raise InvalidInput("an Azure OpenAI profile needs a base URL: the resource endpoint, "
                               "e.g. https://my-resource.openai.azure.com")
        return None
    if url == BUILTIN_SANDBOX_URL:
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
        raise InvalidInput(f"the base URL {url!r} is not a full web address: write it with "
                           "http:// or https://, e.g. https://api.example.com/v1")
    url = url.rstrip("/")
    if kind is ProfileKind.ANTHROPIC and url.endswith("/v1"):
        url = url[:-len("/v1")]
    return url


def check_tier(tier: object) -> str | int:
    """A Claude profile's tier as stored: "start", "build" or "scale", or a whole number of
    requests that may wait in Anthropic's processing queue ("250,000" is 250000)."""
    number: int | None = None
    if isinstance(tier, str):
        text = tier.strip().lower()
        if text in ANTHROPIC_TIERS:
            return text
        digits = text.replace(",", "").replace("_", "").replace(" ", "")
        if digits.isascii() and digits.isdigit():
            number = int(digits)
    elif (isinstance(tier, (int, float)) and not isinstance(tier, bool)
          and float(tier).is_integer()):
        number = int(tier)
    if number is None or not TIER_REQUESTS_RANGE[0] <= number <= TIER_REQUESTS_RANGE[1]:
        raise InvalidInput(
            f"the tier must be start, build or scale, or a whole number of requests from "
            f"{_number(TIER_REQUESTS_RANGE[0])} to {_number(TIER_REQUESTS_RANGE[1])} (how "
            f"many may wait in Anthropic's processing queue), not {str(tier)!r}")
    return number


def check_key_env(key_env: str | None) -> str | None:
    key_env = (key_env or "").strip() or None
    if key_env is not None and not _ENV.fullmatch(key_env):
        raise InvalidInput(f"the key's variable {key_env!r} is not an environment variable "
                           "name (letters, digits and _, not starting with a digit), e.g. "
                           "GROQ_API_KEY")
    return key_env


def _number(value: float) -> str:
    """1000000 as "1,000,000" and 0.1 as "0.1" (``:,g`` would write 1e+06)."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def _in_range(what: str, value: float, low: float, high: float, unit: str = "") -> None:
    if not low <= value <= high:
        raise InvalidInput(f"{what} must be from {_number(low)} to {_number(high)}{unit}, "
                           f"not {_number(value)}")


def check_profile(fields: ProfileFields) -> ProfileFields:
    """The fields, normalised (limits always filled in); raises InvalidInput saying what to
    fix."""
    limits = fields.limits or default_limits(fields.kind)
    _in_range("the requests per batch", limits.max_requests, *MAX_REQUESTS_RANGE)
    _in_range("the bytes per batch", limits.max_batch_bytes, *MAX_BATCH_BYTES_RANGE, " bytes")
    options = dict(fields.options)
    poll = fields.options.get("poll_interval_seconds")
    if poll is not None:
        _in_range("the poll interval", float(poll), *POLL_RANGE, " seconds")
    for key, what in ((RUN_CAP, "the budget per run"), (MONTH_CAP, "the budget per month")):
        cap = fields.options.get(key)
        if cap is not None:
            if isinstance(cap, bool) or not isinstance(cap, (int, float)):
                raise InvalidInput(f"{what} must be an amount in USD, e.g. 25")
            _in_range(what, float(cap), 0, 1e9, " USD")
    if TIER_OPTION in options:
        if fields.kind is not ProfileKind.ANTHROPIC:
            raise InvalidInput("a tier belongs to Anthropic (Claude) profiles only: Anthropic "
                               "counts waiting requests, other providers count tokens")
        options[TIER_OPTION] = check_tier(options[TIER_OPTION])
    return ProfileFields(check_name(fields.name), fields.kind,
                         check_url(fields.kind, fields.base_url), check_key_env(fields.key_env),
                         limits, options)
