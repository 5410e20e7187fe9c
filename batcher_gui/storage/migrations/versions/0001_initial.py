"""Initial workspace: profiles, settings, runs, batches, prompts, transitions.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The SQLite functions the storage queries use (see storage/dialect.py).
        from batcher_gui.storage.dialect import POSTGRES_COMPAT

        op.execute(POSTGRES_COMPAT)
    profiles = op.create_table(
        "profiles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("base_url", sa.Text),
        sa.Column("key_env", sa.Text),
        sa.Column("max_requests", sa.Integer, nullable=False),
        sa.Column("max_batch_bytes", sa.Integer, nullable=False),
        sa.Column("max_line_bytes", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    settings = op.create_table(
        "settings",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("source_path", sa.Text),
        sa.Column("source_format", sa.Text, nullable=False),
        sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id"), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("prompt_count", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("options", sa.Text),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.Text, nullable=False, unique=True),
        sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id"), nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("request_count", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("bytes", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("sealed_at", sa.Float),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_batches_state", "batches", ["state"])
    op.create_index("ix_batches_group", "batches", ["profile_id", "endpoint", "model", "state"])
    op.create_table(
        "prompts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.id")),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("user_custom_id", sa.Text, nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("request_bytes", sa.Integer, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("response", sa.LargeBinary),
        sa.Column("error", sa.Text),
        sa.Column("updated_at", sa.Float),
    )
    op.create_index("ix_prompts_batch_state", "prompts", ["batch_id", "state"])
    op.create_index("ix_prompts_run_state", "prompts", ["run_id", "state"])
    op.create_table(
        "batch_transitions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "batch_id",
            sa.Integer,
            sa.ForeignKey("batches.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("from_state", sa.Text),
        sa.Column("to_state", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_batch_transitions_batch", "batch_transitions", ["batch_id"])
    op.create_table(
        "prompt_transitions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "prompt_id",
            sa.Integer,
            sa.ForeignKey("prompts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("from_state", sa.Text),
        sa.Column("to_state", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_prompt_transitions_prompt", "prompt_transitions", ["prompt_id"])

    # Every new workspace can send to OpenAI; the key comes from the keyring or OPENAI_API_KEY.
    op.bulk_insert(
        profiles,
        [
            {
                "name": "openai",
                "kind": "openai",
                "base_url": None,
                "key_env": None,
                "max_requests": 50_000,
                "max_batch_bytes": 200_000_000,
                "max_line_bytes": 20_000_000,
                "created_at": time.time(),
            }
        ],
    )
    op.bulk_insert(
        settings,
        [
            {"key": "default_profile", "value": '"openai"'},
            {"key": "auto_seal_quiet_seconds", "value": "600"},
        ],
    )


def downgrade() -> None:
    for table in (
        "prompt_transitions",
        "batch_transitions",
        "prompts",
        "batches",
        "runs",
        "settings",
        "profiles",
    ):
        op.drop_table(table)
