"""runs with heartbeats, batch keys minted per batch, edition errors, alerts

Claims now name a run (a random id with a heartbeat) instead of host:pid, and a batch
carries the time its key was minted. Claims left by an older version name no run, so the
first sender after the upgrade treats them as stale and settles them by the fate rules.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 06:41:38.937144
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import newsletter.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = newsletter.models.UTCDateTime(timezone=True)
COUNTS = ("sent_count", "failed_count", "in_doubt_count", "skipped_count")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_alerts_edition_id_editions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_at"), ["at"], unique=False)

    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(sa.Column("claimed_at", UTC_DATETIME, nullable=True))
        batch_op.drop_column("lease_until")

    with op.batch_alter_table("editions") as batch_op:
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("error_at", UTC_DATETIME, nullable=True))
        for column in COUNTS:
            batch_op.drop_column(column)

    # Old rows are host:pid heartbeats of schedulers; a scheduler writes a new one at start.
    op.execute("DELETE FROM runners")
    with op.batch_alter_table("runners") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=False))
        batch_op.add_column(sa.Column("host", sa.String(length=200), nullable=False))
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column("edition_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ended_at", UTC_DATETIME, nullable=True))
        batch_op.create_index(batch_op.f("ix_runners_edition_id"), ["edition_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_runners_edition_id_editions"),
            "editions",
            ["edition_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    op.execute("DELETE FROM runners")
    with op.batch_alter_table("runners") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_runners_edition_id_editions"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_runners_edition_id"))
        for column in ("ended_at", "edition_id", "pid", "host", "kind"):
            batch_op.drop_column(column)

    with op.batch_alter_table("editions") as batch_op:
        for column in COUNTS:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_column("error_at")
        batch_op.drop_column("error")

    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(sa.Column("lease_until", UTC_DATETIME, nullable=True))
        batch_op.drop_column("claimed_at")

    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_at"))
    op.drop_table("alerts")
