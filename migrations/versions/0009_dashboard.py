"""dashboard: admin accounts and login attempts, edition stats, indexes for its pages

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 09:00:00

Also widens ``subscriber_events.via``, ``suppressions.via`` and ``subscribers.source`` so that
a change made in the dashboard can say who made it (``admin:<address>``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import newsletter.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PostgreSQL folds case slowly: the search reads a stored lower-cased copy of the address and
# names (SQLite's LIKE folds ASCII itself). Not in the models: see db.include_in_migrations.
POSTGRES_SEARCH = (
    "ALTER TABLE subscribers ADD COLUMN search_text text GENERATED ALWAYS AS "
    "(lower(email || ' ' || first_name || ' ' || last_name)) STORED"
)
WIDENED = (
    ("subscriber_events", "via", False),
    ("suppressions", "via", False),
    ("subscribers", "source", False),
)


def upgrade() -> None:
    op.create_table(
        "admin_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("session_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", newsletter.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "password_changed_at", newsletter.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("last_login_at", newsletter.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_users")),
        sa.UniqueConstraint("email", name=op.f("uq_admin_users_email")),
    )
    op.create_table(
        "admin_login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", newsletter.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_login_attempts")),
    )
    op.create_index("ix_admin_login_attempts_account_at", "admin_login_attempts", ["account", "at"])
    op.create_index("ix_admin_login_attempts_client_at", "admin_login_attempts", ["client", "at"])
    op.create_table(
        "edition_stats",
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("runs", sa.JSON(), nullable=True),
        sa.Column("first_sent_at", newsletter.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", newsletter.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("computed_at", newsletter.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_edition_stats_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("edition_id", name=op.f("pk_edition_stats")),
    )
    op.create_index("ix_deliveries_subscriber_id", "deliveries", ["subscriber_id"])
    op.create_index("ix_subscribers_created_at_status", "subscribers", ["created_at", "status"])
    op.create_index(
        "ix_subscribers_status_unsubscribed_at", "subscribers", ["status", "unsubscribed_at"]
    )
    op.create_index(
        "ix_subscriber_events_edition_id_kind", "subscriber_events", ["edition_id", "kind"]
    )
    # On SQLite this copies each table (foreign keys are off during migrations: see env.py).
    for table, column, nullable in WIDENED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                existing_type=sa.String(length=50),
                type_=sa.String(length=newsletter.models.VIA_LENGTH),
                existing_nullable=nullable,
            )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_SEARCH)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE subscribers DROP COLUMN IF EXISTS search_text")
    for table, column, nullable in WIDENED:
        op.execute(
            f"UPDATE {table} SET {column} = substr({column}, 1, 50) "  # noqa: S608 (our names)
            f"WHERE length({column}) > 50"
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                existing_type=sa.String(length=newsletter.models.VIA_LENGTH),
                type_=sa.String(length=50),
                existing_nullable=nullable,
            )
    op.drop_index("ix_subscriber_events_edition_id_kind", table_name="subscriber_events")
    op.drop_index("ix_subscribers_status_unsubscribed_at", table_name="subscribers")
    op.drop_index("ix_subscribers_created_at_status", table_name="subscribers")
    op.drop_index("ix_deliveries_subscriber_id", table_name="deliveries")
    op.drop_table("edition_stats")
    op.drop_index("ix_admin_login_attempts_client_at", table_name="admin_login_attempts")
    op.drop_index("ix_admin_login_attempts_account_at", table_name="admin_login_attempts")
    op.drop_table("admin_login_attempts")
    op.drop_table("admin_users")
