"""runners heartbeat

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:26:13.008773
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import newsletter.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "runners",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("started_at", newsletter.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", newsletter.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_run_at", newsletter.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runners")),
    )


def downgrade() -> None:
    op.drop_table("runners")
