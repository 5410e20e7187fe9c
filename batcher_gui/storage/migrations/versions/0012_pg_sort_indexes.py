"""PostgreSQL: the per-run sort indexes end in the prompt id. SQLite's indexes hold the rowid
(``id``) after their columns by themselves, so (run_id, model) walks one model's prompts in id
order and a sort's first page reads a hundred index entries; PostgreSQL's do not, and a sort
with ``id`` as its tie-breaker sorted every prompt of a long tie (0.3-1.3 s at a million
prompts, bench/pg_views.py; 3-15 ms with these). Nothing changes on SQLite.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: Index name -> its columns before the id (storage/tables.py: POSTGRES_ID_ENDED).
INDEXES = {
    "ix_prompts_run_state": "run_id, state",
    "ix_prompts_run_model": "run_id, model",
    "ix_prompts_run_input_tokens": "run_id, input_tokens",
    "ix_prompts_run_output_tokens": "run_id, output_tokens",
}


def _remake(with_id: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, columns in INDEXES.items():
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(f"CREATE INDEX {name} ON prompts ({columns}{', id' if with_id else ''})")


def upgrade() -> None:
    _remake(with_id=True)


def downgrade() -> None:
    _remake(with_id=False)
