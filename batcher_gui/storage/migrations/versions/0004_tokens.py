"""Tokens before sending: each prompt's counted input tokens and output bound, each batch's
input tokens as admitted (the token-queue room it takes at the provider).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: instant on any size of table (no copy); NULL means "not counted yet".
    op.add_column("prompts", sa.Column("est_input_tokens", sa.Integer))
    op.add_column("prompts", sa.Column("est_output_tokens", sa.Integer))
    op.add_column("batches", sa.Column("est_input_tokens", sa.Integer))
    # Prompt-cache reads and writes of its results (the batch-level usage does not say).
    op.add_column("batches", sa.Column("cached_input_tokens", sa.Integer))
    op.add_column("batches", sa.Column("cache_write_tokens", sa.Integer))
    # The background counter finds what is left by this index alone (it shrinks to nothing).
    op.execute("CREATE INDEX ix_prompts_uncounted ON prompts (id) "
               "WHERE est_input_tokens IS NULL")
    # When the user let a run go past its profile's budget (None: not asked).
    op.add_column("runs", sa.Column("budget_approved_at", sa.Float))
    # Per run and model, the sums of what has been counted: the runs view reads these few
    # rows instead of summing a million prompts.
    op.create_table(
        "run_tokens",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("model", sa.Text, primary_key=True),
        sa.Column("prompts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("input_tokens", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("output_bound", sa.Integer, nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_table("run_tokens")
    with op.batch_alter_table("runs") as b:
        b.drop_column("budget_approved_at")
    op.execute("DROP INDEX IF EXISTS ix_prompts_uncounted")
    with op.batch_alter_table("batches") as b:
        b.drop_column("cache_write_tokens")
        b.drop_column("cached_input_tokens")
        b.drop_column("est_input_tokens")
    with op.batch_alter_table("prompts") as b:
        b.drop_column("est_output_tokens")
        b.drop_column("est_input_tokens")
