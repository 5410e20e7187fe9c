"""Search and sort at a million prompts: an index per sortable column, and the bookkeeping of
the optional full-text search index (built per run in the background; see storage/search.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: custom_ids in natural order ("f2" before "f10"): the text before the trailing digits, then
#: the length, then the text (storage/views.py orders by exactly these expressions).
NATURAL_ID = "rtrim(user_custom_id, '0123456789'), length(user_custom_id), user_custom_id"


def upgrade() -> None:
    # The first page of a sort walks an index of (run, key, id) instead of sorting the run.
    # Tokens are NULL until answered (appended at the run's end: cheap during an import).
    op.execute("CREATE INDEX ix_prompts_run_model ON prompts (run_id, model)")
    op.execute("CREATE INDEX ix_prompts_run_input_tokens ON prompts (run_id, input_tokens)")
    op.execute("CREATE INDEX ix_prompts_run_output_tokens ON prompts (run_id, output_tokens)")
    op.execute(f"CREATE INDEX ix_prompts_run_natural_id ON prompts (run_id, {NATURAL_ID})")
    # The search index's switch (one row: on) and each run's progress: its prompts' ids are
    # first_id..last_id (one import), indexed up to indexed_to. No foreign key: a deleted run's
    # row stays until the indexer has removed its entries.
    op.create_table(
        "search_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("enabled", sa.Integer, nullable=False, server_default=sa.text("0")),
    )
    # On by default: a search is then answered by the index as soon as it is built. The index
    # is SQLite's FTS5: a PostgreSQL workspace searches by scanning (and never queues).
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute(f"INSERT INTO search_settings (id, enabled) VALUES (1, {0 if postgres else 1})")
    op.create_table(
        "search_runs",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("first_id", sa.Integer, nullable=False),
        sa.Column("last_id", sa.Integer, nullable=False),
        sa.Column("indexed_to", sa.Integer, nullable=False),
        # 1: every id in first_id..last_id is the run's (imports that ran side by side can
        # interleave their ids: then the index's matches are checked against the run).
        sa.Column("contiguous", sa.Integer, nullable=False, server_default=sa.text("1")),
    )
    # Prompts already indexed whose answer changed since: indexed again by the indexer; until
    # then searches read them with LIKE.
    op.create_table("search_queue", sa.Column("prompt_id", sa.Integer, primary_key=True))
    if postgres:
        return
    op.execute(
        "CREATE TRIGGER tr_prompts_search_queue AFTER UPDATE OF response ON prompts "
        "WHEN NEW.response IS NOT NULL AND EXISTS (SELECT 1 FROM search_runs s WHERE "
        "s.run_id = NEW.run_id AND NEW.id <= s.indexed_to) "
        "BEGIN INSERT OR IGNORE INTO search_queue (prompt_id) VALUES (NEW.id); END")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS tr_prompts_search_queue")
    op.execute("DROP TABLE IF EXISTS prompt_search")
    op.drop_table("search_queue")
    op.drop_table("search_runs")
    op.drop_table("search_settings")
    for name in ("model", "input_tokens", "output_tokens", "natural_id"):
        op.execute(f"DROP INDEX IF EXISTS ix_prompts_run_{name}")
