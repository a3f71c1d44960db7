"""Real parts for the tests: a SQLite file, or PostgreSQL when NEWSLETTER_TEST_DATABASE_URL is set.

On PostgreSQL the run gets a database of its own (dropped at the end) and each test a fresh
schema in it, selected through the connection's search_path, so tests never see each other.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, MetaData, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from newsletter import db
from newsletter.cli import app
from newsletter.config import Settings, load_settings

PG_ENV = "NEWSLETTER_TEST_DATABASE_URL"
TEST_SECRET = "test-signing-key-" + "x" * 20


@pytest.fixture(autouse=True)
def _no_cloud_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore must never look for credentials at the instance-metadata address."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _pg_admin_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        return None
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A database of this run's own on the PostgreSQL server, or None on SQLite."""
    admin = _pg_admin_url()
    if admin is None:
        yield None
        return
    name = f"newsletter_test_{os.getpid()}_{secrets.token_hex(3)}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def db_url(tmp_path: Path, pg_database: str | None) -> Iterator[str]:
    """An empty database for one test: a SQLite file, or a fresh PostgreSQL schema."""
    if pg_database is None:
        yield f"sqlite:///{tmp_path / 'newsletter.db'}"
        return
    schema = f"t_{secrets.token_hex(4)}"
    engine = create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(pg_database).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def write_config(directory: Path, db_url: str, extra: str = "") -> Path:
    """A config.toml for tests: the given database, the outbox in the folder."""
    path = directory / "config.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [newsletter]
            postal_address = "100 Test Street, Springfield, IL 62701, USA"
            base_url = "https://tips.example.com"
            greeting = "Hi {{{{ first_name or 'there' }}}}{{{{ ' ' ~ last_name if last_name }}}},"

            [database]
            url = "{db_url}"
            """
        )
        + textwrap.dedent(extra),
        encoding="utf-8",
    )
    return path


@dataclass
class Project:
    """A configured, migrated newsletter folder, driven through the real CLI."""

    dir: Path
    config: Path
    engine: Engine
    env: dict[str, str] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return load_settings(self.config, env=self.env)

    def run(self, *args: str, input: str | None = None) -> Result:
        """Run ``newsletter ARGS`` in the project's folder, as a user would."""
        runner = CliRunner()
        cwd = Path.cwd()
        os.chdir(self.dir)
        try:
            return runner.invoke(
                app,
                list(args),
                env={"NEWSLETTER_CONFIG": str(self.config), **self.env},
                input=input,
            )
        finally:
            os.chdir(cwd)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def rows(self, table: str) -> list[dict[str, Any]]:
        meta = MetaData()
        meta.reflect(self.engine, only=[table])
        t = meta.tables[table]
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t).order_by(*t.primary_key))]

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every table: compare two to prove that nothing changed."""
        tables = (
            "subscribers",
            "subscriber_events",
            "tips",
            "editions",
            "deliveries",
            "provider_events",
        )
        return {t: self.rows(t) for t in tables}

    def provider(self, **keys: object) -> None:
        """Add a [provider] section to config.toml (once per test)."""
        lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())
        self.config.write_text(self.config.read_text() + "\n[provider]\n" + lines)

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")
        return path


@pytest.fixture
def project(tmp_path: Path, db_url: str) -> Iterator[Project]:
    """A folder with config.toml and a migrated, empty database."""
    folder = tmp_path / "project"
    folder.mkdir()
    config = write_config(folder, db_url)
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    # SpamAssassin takes about a second a message: the pre-flight tests turn it back on.
    env = {"NEWSLETTER_SECRET_KEY": TEST_SECRET, "NEWSLETTER_CHECKS_SPAMASSASSIN": "false"}
    yield Project(folder, config, engine, env=env)
    engine.dispose()


def use_fake(project: Project, fake: Any, **provider: object) -> None:
    """Point the project's [provider] at a running provider fake, with its key in the env."""
    keys: dict[str, object] = {
        "name": fake.name,
        "api_base": fake.url,
        "retry_cap_seconds": 0.05,
        "rate_limit": 100_000,
        **provider,
    }
    if getattr(fake, "domain", None):
        keys["domain"] = fake.domain
    project.provider(**keys)
    project.env["NEWSLETTER_API_KEY"] = fake.api_key


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, tries: int = 100) -> None:
    """Poll ``url`` until a server answers (10 s at most)."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 (a loopback test server)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


def queue_and_subscribe(
    project: Project, n: int, title: str = "Delight Your Customers"
) -> list[str]:
    """Queue one tip and import ``n`` readers (reader0@example.com …, named Reader 0 …)."""
    project.write(
        "tips/t.md", tip_text(title, "Buddy the Bug Man was different.", takeaway="Delight.")
    )
    assert project.run("tips", "add", "tips/t.md").exit_code == 0
    addresses = [f"reader{i}@example.com" for i in range(n)]
    project.write(
        "list.csv", "email,name\n" + "".join(f"{a},Reader {i}\n" for i, a in enumerate(addresses))
    )
    assert project.run("subscribers", "import", "list.csv").exit_code == 0
    return addresses


def tip_text(
    title: str = "Identify Your Point of Empathy", body: str = "Find the point.", **meta: str
) -> str:
    """A valid tip file's text."""
    lines = [f"title: {title}", *(f"{k}: {v}" for k, v in meta.items())]
    return "---\n" + "\n".join(lines) + "\n---\n" + body + "\n"
