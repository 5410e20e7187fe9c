"""The engine as a service: hidden runs during imports, batches owned by a run, per-batch
problems, delivery failures kept apart from provider failures, append-only folder delivery.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 'importing' while an import writes its chunks (invisible to the engine and the views),
    # 'ready' once its last chunk committed.
    op.add_column("runs", sa.Column("status", sa.Text, nullable=False,
                                    server_default=sa.text("'ready'")))
    # Plain ADD COLUMN (no table copy: dropping the old batches table would trip the prompts'
    # foreign keys); SQLite accepts a REFERENCES clause on a column that defaults to NULL.
    op.execute("ALTER TABLE batches ADD COLUMN run_id INTEGER REFERENCES runs (id)")
    op.add_column("batches", sa.Column("problem", sa.Text))
    op.create_index("ix_batches_run", "batches", ["run_id"])
    # Batches made before 0003 could mix runs (drafts were shared); the first run owns them.
    op.execute("UPDATE batches SET run_id = (SELECT min(run_id) FROM prompts "
               "WHERE prompts.batch_id = batches.id)")
    op.add_column("prompts", sa.Column("delivery_error", sa.Text))
    # `attempts` counts every send; the attempt limit counts those since the user's last retry.
    op.add_column("prompts", sa.Column("attempt_base", sa.Integer, nullable=False,
                                       server_default=sa.text("0")))
    # Failed deliveries of 0002 kept their reason in `error`; move it where it now belongs.
    op.execute("UPDATE prompts SET delivery_error = substr(error, 18), error = NULL "
               "WHERE state = 'failed' AND error LIKE 'delivery failed: %'")
    op.create_table(
        "delivery_files",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("committed_bytes", sa.Integer, nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_table("delivery_files")
    with op.batch_alter_table("prompts") as b:
        b.drop_column("attempt_base")
        b.drop_column("delivery_error")
    with op.batch_alter_table("batches") as b:
        b.drop_index("ix_batches_run")
        b.drop_column("problem")
        b.drop_column("run_id")
    with op.batch_alter_table("runs") as b:
        b.drop_column("status")
