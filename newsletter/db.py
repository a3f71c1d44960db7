"""The database: engine and sessions, SQLite pragmas, and the Alembic migrations.

SQLite is opened with WAL (readers never block the sender), foreign keys on, and a busy
timeout, so that the web app, the scheduler and the CLI can share one file.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeEngine

from newsletter.errors import ConfigError, DatabaseError
from newsletter.resources import migrations_dir

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Alembic costs 0.25 s and 11 MB to import: only migrations load it; every command's check
# that the database is current reads the revisions with these instead.
_REVISION = re.compile(r'^revision(?:: str)? = "([^"]+)"', re.M)
_DOWN = re.compile(r'^down_revision(?:: [^=]+)? = "([^"]+)"', re.M)
T = TypeVar("T")


def resolve_url(url: str, base_dir: Path) -> URL:
    """Parse a database URL; a relative SQLite path is taken from ``base_dir`` (config's folder)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"[database] url: not a database URL: {mask_url(url)!r}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "").expanduser()
        if not path.is_absolute():
            parsed = parsed.set(database=str(base_dir / path))
    return parsed


def mask_url(url: str | URL) -> str:
    """The URL with any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def make_engine(url: str | URL) -> Engine:
    """An engine with our pragmas (SQLite) or the psycopg 3 driver (PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        hint = (
            " (install the extra: pip install 'newsletter[postgres]')"
            if "postgres" in str(parsed.drivername)
            else ""
        )
        raise ConfigError(f"[database] url: no driver for {parsed.drivername}{hint}") from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A sender rewrites the rows and index entries of a whole edition: 16 MB of page cache
    # instead of 2 keeps them in memory.
    cursor.execute("PRAGMA cache_size=-16384")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error.

    A database that is locked past the busy timeout, or a connection that is lost, becomes
    a ``DatabaseError`` with one line that says so (its cause chained).
    """
    try:
        with factory() as session, session.begin():
            yield session
    except (OperationalError, InterfaceError) as exc:
        raise DatabaseError(f"the database failed: {reason(exc)}") from exc


_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def serialized(engine: Engine) -> AbstractContextManager[object]:
    """For a write transaction: on SQLite, one writer of this process at a time.

    SQLite takes one writer at a time; threads of one process that collide meet its busy
    handler, which sleeps 1, 2, 5, 10, 15, 20, 25 … ms before trying again: a sender's threads
    lost a third of their time there. A lock of our own wakes the next writer at once.
    Other processes still meet the busy handler (rarely: they write seldom). On PostgreSQL,
    rows are locked one by one: nothing to do.
    """
    if engine.url.get_backend_name() != "sqlite":
        return nullcontext()
    with _WRITERS_LOCK:
        lock = _WRITERS.get(engine)
        if lock is None:
            lock = _WRITERS[engine] = threading.Lock()
    return lock


@contextmanager
def connection(engine: Engine) -> Iterator[Connection]:
    """A Core connection in one transaction (the hot path: no ORM session); the same
    translation of a lost or locked database as ``transaction``."""
    try:
        with engine.begin() as conn:
            yield conn
    except (OperationalError, InterfaceError) as exc:
        raise DatabaseError(f"the database failed: {reason(exc)}") from exc


def reason(exc: BaseException) -> str:
    """The first line of what the driver said (or of the exception), for one-line messages."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# The full-text index lives outside the models (FTS5 on SQLite, a generated tsvector column on
# PostgreSQL): made by migration 0005, hidden from Alembic's comparison of models and database.
# So does PostgreSQL's lower-cased copy of each subscriber's address and names (migration 0009),
# which the dashboard's search reads.
_UNMODELLED = ("tips_fts", "search_vector", "ix_tips_search_vector", "search_text")


def include_in_migrations(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's ``include_name`` hook: everything but the full-text index objects."""
    return not (name or "").startswith(_UNMODELLED)


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs our migrations on ``engine``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str | None:
    """The newest migration shipped with this version (read from the revision files)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in migrations_dir().glob("versions/*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found:
            revisions.add(found[1])
            parents.update(_DOWN.findall(source))
    heads = sorted(revisions - parents)
    return heads[0] if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at; None for an empty database."""
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError as exc:
        raise DatabaseError(
            f"cannot open the database {mask_url(engine.url)}: {reason(exc)}"
        ) from exc


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Run the migrations up to head; returns (before, after)."""
    from alembic import command

    _ensure_sqlite_folder(engine)
    before = current_revision(engine)
    command.upgrade(alembic_config(engine), "head")
    return before, current_revision(engine)


def check_current(engine: Engine) -> None:
    """Refuse to go on with a database that is missing or behind the migrations."""
    if engine.url.get_backend_name() == "sqlite":
        path = engine.url.database or ""
        if path not in ("", ":memory:") and not Path(path).exists():
            raise DatabaseError(
                f"no database at {path}: run `newsletter init` or `newsletter db upgrade`"
            )
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise DatabaseError(
            f"the database is at migration {current or 'none'}, this version needs {head}: "
            "run `newsletter db upgrade`"
        )


def driver_value(conn: Connection, type_: TypeEngine[T], value: T) -> Any:
    """``value`` as the driver wants it for a column of ``type_`` (converted once, reused)."""
    processor = type_.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return processor(value) if processor else value


def executemany(
    conn: Connection, target: tuple[str, Sequence[str]], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert many rows of driver-ready values by the driver's bulk path.

    For bulk loads only: SQLAlchemy's per-row parameter handling was most of the time of a
    100,000-row import. Values must already be driver values (see ``driver_value``); the
    table and column names are our own constants.
    """
    if not rows:
        return
    name, columns = target
    if conn.dialect.name == "postgresql":
        # COPY is PostgreSQL's bulk path, several times faster than executemany.
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks(conn, len(columns))})"  # noqa: S608
    conn.exec_driver_sql(sql, list(rows))


def marks(conn: Connection, count: int) -> str:
    """``count`` positional placeholders in the driver's own style, for driver-level SQL."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * count)


def _ensure_sqlite_folder(engine: Engine) -> None:
    if engine.url.get_backend_name() == "sqlite" and engine.url.database not in (
        None,
        "",
        ":memory:",
    ):
        Path(engine.url.database or "").parent.mkdir(parents=True, exist_ok=True)
