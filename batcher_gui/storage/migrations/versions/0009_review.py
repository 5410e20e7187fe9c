"""Review: runs that come from another (re-run with a change), checks on answers, the
reviewer's labels and notes, and what facets count (finish reason, error kind).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: Labels a new workspace starts with (keys 1-3; the user renames them and adds up to 9).
DEFAULT_LABELS = ((1, "good"), (2, "wrong"), (3, "unsure"))


def upgrade() -> None:
    # Plain ADD COLUMNs (no copy of a million-row table); NULL: none.
    op.add_column("runs", sa.Column("origin_run_id", sa.Integer))
    op.add_column("runs", sa.Column("origin_change", sa.Text))
    for name, kind in (("label", sa.Integer), ("note", sa.Text), ("check_state", sa.Integer),
                       ("check_detail", sa.Text), ("check_revision", sa.Integer),
                       ("finish_reason", sa.Text), ("error_kind", sa.Text)):
        op.add_column("prompts", sa.Column(name, kind))
    # Partial indexes: only the prompts that have one (facets count them per run; a prompt
    # without is counted as the run's total minus these).
    for column in ("label", "check_state", "finish_reason", "error_kind"):
        op.execute(f"CREATE INDEX ix_prompts_run_{column} ON prompts (run_id, {column}) "
                   f"WHERE {column} IS NOT NULL")
    # The checker finds answers not yet checked under their run's rules by this index alone
    # (a rules change sets check_revision back to NULL for the run).
    op.execute("CREATE INDEX ix_prompts_unchecked ON prompts (run_id, id) "
               "WHERE check_revision IS NULL AND response IS NOT NULL")
    # Compare pairs two runs' prompts by custom_id: one seek per prompt.
    op.execute("CREATE INDEX ix_prompts_run_custom_id ON prompts (run_id, user_custom_id)")
    op.execute("CREATE INDEX ix_prompts_run_note ON prompts (run_id) WHERE note IS NOT NULL")
    labels = op.create_table(
        "label_names",
        sa.Column("key", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
    )
    op.bulk_insert(labels, [{"key": k, "name": n} for k, n in DEFAULT_LABELS])
    op.create_table(
        "run_checks",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    # What the facets count, for results already in (new ones are written when applied).
    op.execute("UPDATE prompts SET finish_reason = coalesce("
               "json_extract(response, '$.choices[0].finish_reason'), "
               "json_extract(response, '$.stop_reason'), "
               "json_extract(response, '$.status')) "
               "WHERE response IS NOT NULL AND json_valid(response)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_prompts_unchecked")
    op.drop_table("run_checks")
    op.drop_table("label_names")
    for column in ("label", "check_state", "finish_reason", "error_kind", "note", "custom_id"):
        op.execute(f"DROP INDEX IF EXISTS ix_prompts_run_{column}")
    with op.batch_alter_table("prompts") as b:
        for name in ("error_kind", "finish_reason", "check_revision", "check_detail",
                     "check_state", "note", "label"):
            b.drop_column(name)
    with op.batch_alter_table("runs") as b:
        b.drop_column("origin_change")
        b.drop_column("origin_run_id")
