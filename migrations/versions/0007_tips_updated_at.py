"""tips.updated_at: when a tip last changed (the web app's page cache watches it)

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-25 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import newsletter.models

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable and added in place, never by a batch copy of `tips` (see 0005).
    op.add_column(
        "tips",
        sa.Column("updated_at", newsletter.models.UTCDateTime(timezone=True), nullable=True),
    )
    op.execute("UPDATE tips SET updated_at = created_at")


def downgrade() -> None:
    # Plain ALTER TABLE (SQLite 3.35+), never a batch copy.
    op.execute("ALTER TABLE tips DROP COLUMN updated_at")
