"""Input tokens a batch's results wrote to the prompt cache for an hour (Anthropic bills those
at twice the input price, five-minute writes at 1.25 times): run and spend totals price them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batches", sa.Column("cache_write_1h_tokens", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("batches") as b:
        b.drop_column("cache_write_1h_tokens")
