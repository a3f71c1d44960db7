"""Alembic environment: runs on the engine that ``newsletter.db`` hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, Engine, create_engine

from newsletter.db import include_in_migrations
from newsletter.models import Base

config = context.config
target_metadata = Base.metadata


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine  # type: ignore[no-any-return]
    return create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///newsletter.db")


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    with _engine().connect() as connection:
        _run(connection)


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration copies a table and drops the old one; with foreign keys on, that
        # drop would cascade to every row that refers to it (an upgrade must never lose data).
        # The pragma only takes effect outside a transaction: before anything else here.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite can only ALTER by copying the table
            compare_type=True,
            include_name=include_in_migrations,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    raise SystemExit(
        "offline (SQL script) migrations are not supported; use `newsletter db upgrade`"
    )
run_migrations_online()
