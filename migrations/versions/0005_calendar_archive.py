"""calendar and archive: pinned weeks, published dates, editions.sent_at, full-text search

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 07:00:00

The full-text index is made here only (the models do not describe it; ``db.include_in_migrations``
hides it from Alembic's comparison): on SQLite an FTS5 table kept in step with ``tips`` by
triggers, on PostgreSQL a generated ``tsvector`` column with a GIN index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import newsletter.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE tips_fts USING fts5(title, body_md, content='tips', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER tips_fts_insert AFTER INSERT ON tips BEGIN "
    "INSERT INTO tips_fts(rowid, title, body_md) VALUES (new.id, new.title, new.body_md); END",
    "CREATE TRIGGER tips_fts_delete AFTER DELETE ON tips BEGIN "
    "INSERT INTO tips_fts(tips_fts, rowid, title, body_md) "
    "VALUES ('delete', old.id, old.title, old.body_md); END",
    "CREATE TRIGGER tips_fts_update AFTER UPDATE OF title, body_md ON tips BEGIN "
    "INSERT INTO tips_fts(tips_fts, rowid, title, body_md) "
    "VALUES ('delete', old.id, old.title, old.body_md); "
    "INSERT INTO tips_fts(rowid, title, body_md) VALUES (new.id, new.title, new.body_md); END",
    "INSERT INTO tips_fts(tips_fts) VALUES ('rebuild')",
]
SQLITE_FTS_DROP = [
    "DROP TRIGGER IF EXISTS tips_fts_insert",
    "DROP TRIGGER IF EXISTS tips_fts_delete",
    "DROP TRIGGER IF EXISTS tips_fts_update",
    "DROP TABLE IF EXISTS tips_fts",
]
POSTGRES_FTS = [
    "ALTER TABLE tips ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(body_md, '')), 'B')) STORED",
    "CREATE INDEX ix_tips_search_vector ON tips USING gin (search_vector)",
]
POSTGRES_FTS_DROP = [
    "DROP INDEX IF EXISTS ix_tips_search_vector",
    "ALTER TABLE tips DROP COLUMN IF EXISTS search_vector",
]


def upgrade() -> None:
    op.add_column("tips", sa.Column("pinned_week", sa.String(length=10), nullable=True))
    op.add_column("tips", sa.Column("published_on", sa.Date(), nullable=True))
    op.create_index(op.f("ix_tips_pinned_week"), "tips", ["pinned_week"], unique=True)
    op.create_index("ix_tips_status_published_on", "tips", ["status", "published_on"])
    # Added columns stay nullable, with no batch copy: on SQLite a copy of `tips` or
    # `editions` drops the old table, and with foreign keys on that deletes its deliveries.
    op.add_column(
        "editions",
        sa.Column("sent_at", newsletter.models.UTCDateTime(timezone=True), nullable=True),
    )
    # Editions made before this revision went out when they were created; their tips are
    # dated by that day (UTC: the configured zone is not known here).
    op.execute("UPDATE editions SET sent_at = created_at")
    op.execute(
        "UPDATE tips SET published_on = "
        "(SELECT CAST(editions.created_at AS DATE) FROM editions WHERE editions.tip_id = tips.id) "
        "WHERE status = 'sent'"
        if op.get_bind().dialect.name == "postgresql"
        else "UPDATE tips SET published_on = "
        "(SELECT date(editions.created_at) FROM editions WHERE editions.tip_id = tips.id) "
        "WHERE status = 'sent'"
    )
    statements = POSTGRES_FTS if op.get_bind().dialect.name == "postgresql" else SQLITE_FTS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    drops = POSTGRES_FTS_DROP if op.get_bind().dialect.name == "postgresql" else SQLITE_FTS_DROP
    for statement in drops:
        op.execute(statement)
    op.execute("UPDATE tips SET status = 'skipped' WHERE status = 'archived'")
    op.execute("ALTER TABLE editions DROP COLUMN sent_at")
    op.drop_index("ix_tips_status_published_on", table_name="tips")
    op.drop_index(op.f("ix_tips_pinned_week"), table_name="tips")
    # Plain ALTER TABLE (SQLite 3.35+), never a batch copy (see upgrade).
    op.execute("ALTER TABLE tips DROP COLUMN published_on")
    op.execute("ALTER TABLE tips DROP COLUMN pinned_week")
