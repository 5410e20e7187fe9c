"""The workspace schema at head, as SQLAlchemy Core tables.

Migrations under ``migrations/versions`` build exactly this schema (a test compares them), so the
tables here are only used to write queries. Timestamps are Unix seconds (REAL): cheap to write in
bulk and easy to compare in SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    text,
)

metadata = MetaData()


def _where(condition: str) -> dict[str, Any]:
    """A partial index's condition, for both databases (the migrations create it so)."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}

profiles = Table(
    "profiles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("base_url", Text),
    Column("key_env", Text),
    Column("max_requests", Integer, nullable=False),
    Column("max_batch_bytes", Integer, nullable=False),
    Column("max_line_bytes", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    # Added in 0002: provider-specific options as JSON (e.g. Azure api_version).
    Column("options", Text),
)

settings = Table(
    "settings",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("source_path", Text),
    Column("source_format", Text, nullable=False),
    Column("profile_id", Integer, ForeignKey("profiles.id"), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("prompt_count", Integer, nullable=False, server_default=text("0")),
    Column("options", Text),
    # Added in 0002: where finished results go (None, "folder", "webhook").
    Column("delivery_kind", Text),
    Column("delivery_target", Text),
    # Added in 0003: 'importing' while an import writes it (hidden from everyone), else 'ready'.
    Column("status", Text, nullable=False, server_default=text("'ready'")),
    # Added in 0004: when the user let the run go past its profile's budget.
    Column("budget_approved_at", Float),
    # Added in 0009: the run this one re-runs with a change (what changed, as JSON).
    Column("origin_run_id", Integer),
    Column("origin_change", Text),
)

batches = Table(
    "batches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", Text, nullable=False, unique=True),
    Column("profile_id", Integer, ForeignKey("profiles.id"), nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("request_count", Integer, nullable=False, server_default=text("0")),
    Column("bytes", Integer, nullable=False, server_default=text("0")),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("sealed_at", Float),
    Column("error", Text),
    # Added in 0002: the remote lifecycle.
    Column("not_before", Float),
    Column("wait_reason", Text),
    Column("intent", Text),
    Column("intent_at", Float),
    Column("provider_batch_id", Text),
    Column("input_file_id", Text),
    Column("output_file_id", Text),
    Column("error_file_id", Text),
    Column("provider_status", Text),
    Column("expires_at", Float),
    Column("counts_total", Integer),
    Column("counts_completed", Integer),
    Column("counts_failed", Integer),
    Column("input_tokens", Integer),
    Column("output_tokens", Integer),
    Column("token_limit_attempts", Integer, nullable=False, server_default=text("0")),
    Column("polled_at", Float),
    Column("cancel_requested_at", Float),
    # Added in 0003: the run whose prompts the batch holds; the last problem met driving it.
    Column("run_id", Integer, ForeignKey("runs.id")),
    Column("problem", Text),
    # Added in 0004: input tokens counted when the batch was admitted (token-queue room).
    Column("est_input_tokens", Integer),
    Column("cached_input_tokens", Integer),
    Column("cache_write_tokens", Integer),
    # Added in 0008: of those, the ones written for an hour (priced higher).
    Column("cache_write_1h_tokens", Integer),
    Index("ix_batches_state", "state"),
    Index("ix_batches_run", "run_id"),
    Index("ix_batches_group", "profile_id", "endpoint", "model", "state"),
)

prompts = Table(
    "prompts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("batch_id", Integer, ForeignKey("batches.id")),
    Column("line_no", Integer, nullable=False),
    Column("user_custom_id", Text, nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("request_bytes", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("response", LargeBinary),
    Column("error", Text),
    Column("updated_at", Float),
    # Added in 0002: token usage of the stored response.
    Column("input_tokens", Integer),
    Column("output_tokens", Integer),
    Column("delivery_attempts", Integer, nullable=False, server_default=text("0")),
    Column("deliver_after", Float),
    # Added in 0003: why delivering the result failed (the result itself is fine).
    Column("delivery_error", Text),
    Column("attempt_base", Integer, nullable=False, server_default=text("0")),
    # Added in 0004: counted offline (NULL: not yet): input tokens, most output tokens.
    Column("est_input_tokens", Integer),
    Column("est_output_tokens", Integer),
    # Added in 0009: the reviewer's label (1-9, see label_names) and note; the answer's check
    # (1 passed, 0 failed, NULL not checked), the failing rule and where, under which rules'
    # revision; the finish reason of a result and the kind of an error (what facets count).
    Column("label", Integer),
    Column("note", Text),
    Column("check_state", Integer),
    Column("check_detail", Text),
    Column("check_revision", Integer),
    Column("finish_reason", Text),
    Column("error_kind", Text),
    Index("ix_prompts_batch_state", "batch_id", "state"),
    Index("ix_prompts_run_state", "run_id", "state"),
    Index("ix_prompts_uncounted", "id", **_where("est_input_tokens IS NULL")),
    Index("ix_prompts_run_label", "run_id", "label", **_where("label IS NOT NULL")),
    Index("ix_prompts_run_check_state", "run_id", "check_state",
          **_where("check_state IS NOT NULL")),
    Index("ix_prompts_run_finish_reason", "run_id", "finish_reason",
          **_where("finish_reason IS NOT NULL")),
    Index("ix_prompts_run_error_kind", "run_id", "error_kind",
          **_where("error_kind IS NOT NULL")),
    Index("ix_prompts_run_note", "run_id", **_where("note IS NOT NULL")),
    Index("ix_prompts_run_custom_id", "run_id", "user_custom_id"),
    Index("ix_prompts_unchecked", "run_id", "id",
          **_where("check_revision IS NULL AND response IS NOT NULL")),
    # Added in 0010: the sortable columns (and the natural custom_id order, an expression
    # index migrations/versions/0010_search.py creates; not declared here, SQLAlchemy cannot
    # reflect expression indexes).
    Index("ix_prompts_run_model", "run_id", "model"),
    Index("ix_prompts_run_input_tokens", "run_id", "input_tokens"),
    Index("ix_prompts_run_output_tokens", "run_id", "output_tokens"),
)

#: The natural custom_id order's expression index (migration 0010; not in ``prompts.indexes``).
NATURAL_ID_INDEX = "ix_prompts_run_natural_id"
#: On PostgreSQL these indexes end in ``id`` too (migration 0012): SQLite's hold the rowid after
#: their columns by themselves, PostgreSQL's must say so for a sort's first page to read only
#: a page of index entries.
POSTGRES_ID_ENDED = ("ix_prompts_run_state", "ix_prompts_run_model",
                     "ix_prompts_run_input_tokens", "ix_prompts_run_output_tokens")

batch_transitions = Table(
    "batch_transitions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("batch_id", Integer, ForeignKey("batches.id", ondelete="CASCADE"), nullable=False),
    Column("from_state", Text),
    Column("to_state", Text, nullable=False),
    Column("at", Float, nullable=False),
    Column("reason", Text),
    Index("ix_batch_transitions_batch", "batch_id"),
)

prompt_transitions = Table(
    "prompt_transitions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("prompt_id", Integer, ForeignKey("prompts.id", ondelete="CASCADE"), nullable=False),
    Column("from_state", Text),
    Column("to_state", Text, nullable=False),
    Column("at", Float, nullable=False),
    Column("reason", Text),
    Index("ix_prompt_transitions_prompt", "prompt_id"),
)

# Added in 0003: how much of each folder-delivery file is known good (appends past it are
# from a pass that crashed before recording them, and are cut off).
delivery_files = Table(
    "delivery_files",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("path", Text, nullable=False),
    Column("committed_bytes", Integer, nullable=False, server_default=text("0")),
)

# Added in 0004: per run and model, the sums of the prompts counted so far.
run_tokens = Table(
    "run_tokens",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("model", Text, primary_key=True),
    Column("prompts", Integer, nullable=False, server_default=text("0")),
    Column("input_tokens", Integer, nullable=False, server_default=text("0")),
    Column("output_bound", Integer, nullable=False, server_default=text("0")),
)

# Added in 0002: who drives the workspace (one engine at a time).
engine_lease = Table(
    "engine_lease",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("holder", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
)

# Added in 0005: one row; every user action adds one, and the driving engine (maybe in another
# process) wakes when the count changes.
wake_calls = Table(
    "wake_calls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("count", Integer, nullable=False, server_default=text("0")),
)

# Added in 0006: one row, made with the workspace (or when an older one is upgraded): a random
# id, unique to this workspace, that what Batcher sends out carries (webhook idempotency keys).
workspace_identity = Table(
    "workspace_identity",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

# Added in 0009: the reviewer's label names, keys 1-9 (the keys that put them on a prompt).
label_names = Table(
    "label_names",
    metadata,
    Column("key", Integer, primary_key=True),
    Column("name", Text, nullable=False),
)

# Added in 0009: a run's checks on answers (rules as JSON); the revision grows with each change,
# so prompts checked under older rules are known (prompts.check_revision).
run_checks = Table(
    "run_checks",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("rules", Text, nullable=False),
    Column("revision", Integer, nullable=False, server_default=text("1")),
    Column("updated_at", Float, nullable=False),
)

# Added in 0010: the optional full-text search index's switch (one row), each run's progress
# (prompt ids first_id..last_id indexed up to indexed_to) and the prompts to index again (their
# answer changed; a trigger queues them). The FTS5 table itself (prompt_search) is created
# when the index is turned on (storage/search.py), not by a migration.
search_settings = Table(
    "search_settings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("enabled", Integer, nullable=False, server_default=text("0")),
)

search_runs = Table(
    "search_runs",
    metadata,
    Column("run_id", Integer, primary_key=True),
    Column("first_id", Integer, nullable=False),
    Column("last_id", Integer, nullable=False),
    Column("indexed_to", Integer, nullable=False),
    Column("contiguous", Integer, nullable=False, server_default=text("1")),
)

search_queue = Table(
    "search_queue",
    metadata,
    Column("prompt_id", Integer, primary_key=True),
)

# Added in 0011: the intake API's bearer tokens (SHA-256 only) and the custom_ids it took.
intake_tokens = Table(
    "intake_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float),
    Column("revoked_at", Float),
)

intake_requests = Table(
    "intake_requests",
    metadata,
    Column("custom_id", Text, primary_key=True),
    Column("prompt_id", Integer, ForeignKey("prompts.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("token_id", Integer),
    Index("ix_intake_requests_prompt", "prompt_id"),
)
