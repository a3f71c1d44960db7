"""one rate limit shared by every sender; the claim index with the id in it

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 08:00:35.985858
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import newsletter.models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("next_at", newsletter.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rate_buckets")),
    )
    # Plain index changes: no table copy on SQLite.
    op.create_index(
        "ix_deliveries_edition_id_status_id", "deliveries", ["edition_id", "status", "id"]
    )
    op.drop_index("ix_deliveries_edition_id_status", table_name="deliveries")


def downgrade() -> None:
    op.create_index("ix_deliveries_edition_id_status", "deliveries", ["edition_id", "status"])
    op.drop_index("ix_deliveries_edition_id_status_id", table_name="deliveries")
    op.drop_table("rate_buckets")
