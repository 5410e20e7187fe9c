"""The intake API: its bearer tokens (stored as SHA-256 hashes only) and the custom_ids it has
taken (unique across every intake run, as the predecessor's ``POST /api/requests`` had them).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        # hex SHA-256 of the token: the token itself is shown once and never stored.
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_used_at", sa.Float),
        sa.Column("revoked_at", sa.Float),
    )
    # The primary key is the uniqueness of a custom_id across intake runs (a duplicate is a
    # 409); deleting a run (its prompts) frees its custom_ids again.
    op.create_table(
        "intake_requests",
        sa.Column("custom_id", sa.Text, primary_key=True),
        sa.Column("prompt_id", sa.Integer,
                  sa.ForeignKey("prompts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("token_id", sa.Integer),
    )
    # Deleting prompts looks their intake rows up by prompt (the cascade).
    op.create_index("ix_intake_requests_prompt", "intake_requests", ["prompt_id"])


def downgrade() -> None:
    op.drop_index("ix_intake_requests_prompt", table_name="intake_requests")
    op.drop_table("intake_requests")
    op.drop_table("intake_tokens")
