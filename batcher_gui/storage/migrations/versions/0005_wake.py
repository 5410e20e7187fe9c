"""A wake-up counter: a user's action in one process (a `batcher` command, another window)
wakes the engine that drives the workspace in another, so it acts within a second instead of
at its next pass.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wake_calls",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False, server_default=sa.text("0")),
    )
    op.execute("INSERT INTO wake_calls (id, count) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("wake_calls")
