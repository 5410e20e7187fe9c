"""Plain dataclasses that cross layer boundaries (no ORM rows ever leave storage)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from batcher_gui.domain.states import BatchState

#: ``Profile.base_url`` of the built-in sandbox provider.
BUILTIN_SANDBOX_URL = "builtin:sandbox"


class ProfileKind(StrEnum):
    """What kind of provider a profile talks to."""

    OPENAI = "openai"
    OPENAI_COMPATIBLE = "openai-compatible"
    AZURE = "azure"
    #: Anthropic's Message Batches API (Claude): requests inline, no files.
    ANTHROPIC = "anthropic"


@dataclass(frozen=True, slots=True)
class ProfileLimits:
    """What one provider batch may hold. Configurable per profile: provider limits drift.

    Attributes:
        max_requests: requests per batch (OpenAI: 50,000).
        max_batch_bytes: bytes of JSONL per batch file (OpenAI: 200 MB).
        max_line_bytes: bytes of one request line.
    """

    max_requests: int = 50_000
    max_batch_bytes: int = 200 * 1000 * 1000
    max_line_bytes: int = 20 * 1000 * 1000


@dataclass(frozen=True, slots=True)
class Profile:
    """A provider profile: where batches go and how limits apply. Never holds the key."""

    id: int
    name: str
    kind: ProfileKind
    base_url: str | None
    key_env: str | None
    limits: ProfileLimits
    #: Per-kind and per-profile settings (``api_version`` for Azure, ``poll_interval_seconds``).
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def is_builtin_sandbox(self) -> bool:
        """Served by Batcher itself (no key, no cost)."""
        return self.base_url == BUILTIN_SANDBOX_URL


class InputFormat(StrEnum):
    """The input file formats Batcher reads."""

    JSONL = "jsonl"
    CSV = "csv"
    TSV = "tsv"
    TEXT = "text"
    XLSX = "xlsx"


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How to turn a file into requests.

    Attributes:
        format: the file format; None means decide from the extension (and content).
        model: model for CSV/text imports; for JSONL, replaces every line's ``body.model``.
        endpoint: endpoint URL for CSV/text imports (JSONL lines carry their own ``url``).
        template: prompt template with ``{column}`` placeholders (CSV/TSV/XLSX).
        system: optional system prompt (CSV/TSV/XLSX/text).
        id_column: column holding the user's custom_id (default: ``custom_id`` if present,
            else the row number).
        valid_only: import the valid lines and report the rest, instead of all-or-nothing.
        sheet: the worksheet of an .xlsx workbook to read (default: the first).
        max_tokens: Claude profiles only: the ``max_tokens`` of requests made from a
            template or text line (default 1024), and of chat lines converted to Claude
            requests (and native Claude lines) that do not set their own.
    """

    format: InputFormat | None = None
    model: str | None = None
    endpoint: str | None = None
    template: str | None = None
    system: str | None = None
    id_column: str | None = None
    valid_only: bool = False
    sheet: str | None = None
    max_tokens: int | None = None


class ParsedRequest(NamedTuple):
    """One valid request read from an input file.

    A NamedTuple, not a dataclass: a million-line import builds a million of these, and a
    frozen dataclass's constructor alone costs as much as parsing a short line.

    Attributes:
        line_no: 1-based line (or CSV record's first line) it came from.
        user_custom_id: the user's own id, restored on export.
        endpoint: the endpoint URL (``/v1/chat/completions`` ...).
        model: ``body.model``.
        body: the request body serialised as compact JSON (UTF-8).
    """

    line_no: int
    user_custom_id: str
    endpoint: str
    model: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Run:
    """One import: a file turned into prompts."""

    id: int
    name: str
    source_path: str | None
    source_format: str
    profile_id: int
    created_at: float
    prompt_count: int
    delivery_kind: str | None = None
    delivery_target: str | None = None

    @property
    def label(self) -> str:
        """How the user sees and names it: ``#3 'reviews-nov'``."""
        return f"#{self.id} {self.name!r}"


@dataclass(frozen=True, slots=True)
class Batch:
    """One local batch (and, once created, its provider twin)."""

    id: int
    uuid: str
    profile_id: int
    endpoint: str
    model: str
    state: BatchState
    request_count: int
    bytes: int
    created_at: float
    updated_at: float
    sealed_at: float | None = None
    not_before: float | None = None
    wait_reason: str | None = None
    provider_batch_id: str | None = None
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    provider_status: str | None = None
    error: str | None = None
    intent: str | None = None
    intent_at: float | None = None
    polled_at: float | None = None
    cancel_requested_at: float | None = None
    expires_at: float | None = None
    counts_total: int | None = None
    counts_completed: int | None = None
    counts_failed: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    token_limit_attempts: int = 0
    run_id: int | None = None
    #: The last problem met while driving it (cleared once a step succeeds).
    problem: str | None = None
    #: Input tokens counted when it was admitted to the provider's token queue.
    est_input_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What one import did."""

    run: Run
    prompts: int
    drafts: list[int] = field(default_factory=list)
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    #: Things worth knowing that did not stop the import (an unknown model name...).
    warnings: list[str] = field(default_factory=list)
    #: What the import did to the requests (OpenAI chat lines converted for Claude...).
    notes: list[str] = field(default_factory=list)


def provider_custom_id(prompt_id: int) -> str:
    """The custom_id sent to the provider for a prompt: derived from its internal id."""
    return f"p{prompt_id}"


def prompt_id_from_custom_id(custom_id: str) -> int | None:
    """The prompt id behind a provider-facing custom_id, or None if it is not one of ours."""
    if len(custom_id) < 2 or custom_id[0] != "p" or not custom_id[1:].isdigit():
        return None
    return int(custom_id[1:])


#: Bytes a batch line adds around the body: {"custom_id":"p<id>","method":"POST","url":"<url>",
#: "body":<body>}\n  — used to account batch file sizes without building the line.
LINE_OVERHEAD = len('{"custom_id":"","method":"POST","url":"","body":}\n')

