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
