"""The database: migrations, drift, pragmas, and the 'behind' guard."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from newsletter import db
from newsletter.models import Base
from tests.conftest import Project, write_config


def test_models_and_migrations_never_drift(project: Project) -> None:
    with project.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": db.include_in_migrations})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_sqlite_is_opened_with_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == db.SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()


def test_commands_refuse_a_database_behind_the_migrations(project: Project) -> None:
    with project.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'old0'"))
    for args in (["status"], ["tips", "list"], ["subscribers", "list"]):
        result = project.run(*args)
        assert result.exit_code == 1
        assert result.stderr.strip() == (
            f"error: the database is at migration old0, this version needs {db.head_revision()}: "
            "run `newsletter db upgrade`"
        )


def test_db_upgrade_creates_a_missing_database_and_current_reports_it(
    tmp_path: Path, db_url: str
) -> None:
    config = write_config(tmp_path, db_url)
    from tests.conftest import Project as P

    project = P(tmp_path, config, db.make_engine(db_url))
    missing = project.run("status")
    assert missing.exit_code == 1
    assert "newsletter db upgrade" in missing.stderr
    up = project.run("db", "upgrade")
    assert up.exit_code == 0, up.output
    assert f"upgraded from empty to {db.head_revision()}" in up.stdout
    assert "is up to date" in project.run("db", "upgrade").stdout
    assert (
        f"at {db.head_revision()}, newest {db.head_revision()} (up to date)"
        in project.run("db", "current").stdout
    )
    assert project.run("status").exit_code == 0
    project.engine.dispose()


def test_mask_url_hides_passwords() -> None:
    assert db.mask_url("postgresql+psycopg://app:s3cret@db.example.com/news") == (
        "postgresql+psycopg://app:***@db.example.com/news"
    )


def test_upgrading_from_the_first_release_keeps_every_row(tmp_path: Path, db_url: str) -> None:
    # Batch migrations copy tables on SQLite: with foreign keys on, dropping the old copy of
    # `editions` would cascade to every delivery. Data written at 0002 must all survive.
    from alembic import command

    engine = db.make_engine(db_url)
    command.upgrade(db.alembic_config(engine), "0002")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO subscribers (id, email, name, status, source, created_at) "
                "VALUES (1, 'ann@example.com', 'Ann Lee', 'active', 'cli', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO tips (id, slug, title, body_md, takeaway, categories, status, "
                "source_path, created_at) VALUES (1, 't', 'T', 'Body.', '', '[]', 'sent', '', "
                "'2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO editions (id, week, tip_id, subject, html, text, status, recipients, "
                "sent_count, failed_count, in_doubt_count, skipped_count, created_at) VALUES "
                "(1, '2026-W02', 1, 'T', '<p>T</p>', 'T', 'sent', 1, 1, 0, 0, 0, "
                "'2026-01-06 14:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO deliveries (id, edition_id, subscriber_id, status, attempts) "
                "VALUES (1, 1, 1, 'sent', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO subscriber_events (subscriber_id, kind, at, via, edition_id, detail) "
                "VALUES (1, 'subscribed', '2026-01-01 00:00:00', 'cli', 1, '')"
            )
        )
    db.upgrade(engine)
    with engine.connect() as conn:
        for table in ("subscribers", "tips", "editions", "deliveries", "subscriber_events"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1, table  # noqa: S608
    engine.dispose()


def test_the_head_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    from newsletter.resources import migrations_dir

    assert db.head_revision() == ScriptDirectory(str(migrations_dir())).get_current_head()
