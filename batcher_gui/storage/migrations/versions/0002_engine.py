"""Engine bookkeeping: remote lifecycle of batches, usage, delivery targets, the engine lease.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BATCH_COLUMNS = [
    sa.Column("not_before", sa.Float),
    sa.Column("wait_reason", sa.Text),
    sa.Column("intent", sa.Text),
    sa.Column("intent_at", sa.Float),
    sa.Column("provider_batch_id", sa.Text),
    sa.Column("input_file_id", sa.Text),
    sa.Column("output_file_id", sa.Text),
    sa.Column("error_file_id", sa.Text),
    sa.Column("provider_status", sa.Text),
    sa.Column("expires_at", sa.Float),
    sa.Column("counts_total", sa.Integer),
    sa.Column("counts_completed", sa.Integer),
    sa.Column("counts_failed", sa.Integer),
    sa.Column("input_tokens", sa.Integer),
    sa.Column("output_tokens", sa.Integer),
    sa.Column("token_limit_attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("polled_at", sa.Float),
    sa.Column("cancel_requested_at", sa.Float),
]


def upgrade() -> None:
    # ADD COLUMN is enough for nullable/defaulted columns; no table copy is needed.
    for column in _BATCH_COLUMNS:
        op.add_column("batches", column)
    op.add_column("prompts", sa.Column("input_tokens", sa.Integer))
    op.add_column("prompts", sa.Column("output_tokens", sa.Integer))
    op.add_column("prompts", sa.Column("delivery_attempts", sa.Integer, nullable=False,
                                       server_default=sa.text("0")))
    op.add_column("prompts", sa.Column("deliver_after", sa.Float))
    op.add_column("runs", sa.Column("delivery_kind", sa.Text))
    op.add_column("runs", sa.Column("delivery_target", sa.Text))
    op.add_column("profiles", sa.Column("options", sa.Text))
    op.create_table(
        "engine_lease",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.execute(
        "INSERT INTO settings (key, value) VALUES "
        "('poll_interval_seconds', '30'), ('cleanup_provider_files', 'true'), "
        "('max_prompt_attempts', '3') ON CONFLICT DO NOTHING"
    )
    # The built-in sandbox provider: the whole flow works with no API key.
    op.execute(
        "INSERT INTO profiles (name, kind, base_url, key_env, max_requests, "
        "max_batch_bytes, max_line_bytes, created_at) VALUES ('sandbox', 'openai-compatible', "
        f"'builtin:sandbox', NULL, 50000, 200000000, 20000000, {int(time.time())}) "
        "ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    op.execute("DELETE FROM profiles WHERE name = 'sandbox' AND base_url = 'builtin:sandbox'")
    op.drop_table("engine_lease")
    with op.batch_alter_table("profiles") as b:
        b.drop_column("options")
    with op.batch_alter_table("runs") as b:
        b.drop_column("delivery_target")
        b.drop_column("delivery_kind")
    with op.batch_alter_table("prompts") as b:
        b.drop_column("deliver_after")
        b.drop_column("delivery_attempts")
        b.drop_column("output_tokens")
        b.drop_column("input_tokens")
    with op.batch_alter_table("batches") as b:
        for column in reversed(_BATCH_COLUMNS):
            b.drop_column(column.name)
