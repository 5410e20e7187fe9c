"""The built-in sandbox's Claude face as a profile: a Claude run works with no API key.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import time

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Anthropic's batch limits: 100,000 requests and 256 MB. A profile the user already named
    # so is left alone (INSERT OR IGNORE on the unique name).
    op.execute(
        "INSERT INTO profiles (name, kind, base_url, key_env, max_requests, "
        "max_batch_bytes, max_line_bytes, created_at) VALUES ('sandbox-claude', 'anthropic', "
        f"'builtin:sandbox', NULL, 100000, 256000000, 20000000, {int(time.time())}) "
        "ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    op.execute("DELETE FROM profiles WHERE name = 'sandbox-claude' "
               "AND base_url = 'builtin:sandbox'")
