"""The workspace's identity: a random id made once, so what Batcher sends out (a webhook's
Idempotency-Key) cannot be mistaken for what another workspace sent.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import time
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspace_identity",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uid", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.execute(sa.text("INSERT INTO workspace_identity (id, uid, created_at) "
                       "VALUES (1, :uid, :now)").bindparams(uid=uuid.uuid4().hex,
                                                           now=time.time()))


def downgrade() -> None:
    op.drop_table("workspace_identity")
