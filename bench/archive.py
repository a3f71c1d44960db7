"""The public archive with 1,200 back issues: render and search times against the 50 ms goal.

    python bench/archive.py [--tips 1200] [--requests 300] [--database URL]

Imports a generated 1,200-post WordPress export (tests/archivegen.py) into a temp SQLite file
(or a fresh schema of the PostgreSQL server at --database), then times requests through the
app in this process (Starlette's test client: the route, the queries and the template, without
the network): archive pages, category pages, one tip's page, and searches. Prints p50/p99 of
each against the ceiling. On PostgreSQL it also times the search with ``to_tsvector`` computed
on the fly, to show what the stored tsvector column and its GIN index buy.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsletter import backissues, db
from newsletter.config import settings_from_mapping
from newsletter.web import create_app
from tests.archivegen import many_items, wxr

CEILING_MS = 50.0
WORDS = ["customer", "empathy", "supervisor", "facial recognition", "phone", "dishwashers"]


def database(url: str | None, folder: Path) -> tuple[str, Callable[[], None]]:
    if url is None:
        return f"sqlite:///{folder / 'bench.db'}", lambda: None
    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(db.make_engine(url).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False), drop


def timed(client: TestClient, paths: list[str]) -> list[float]:
    out = []
    for path in paths:
        start = time.perf_counter()
        answer = client.get(path)
        out.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return out


def report(label: str, ms: list[float]) -> None:
    ms.sort()
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, round(len(ms) * 0.99))]
    verdict = "ok" if p99 < CEILING_MS else "OVER"
    print(
        f"{label:<28} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   ceiling {CEILING_MS:.0f} ms  {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tips", type=int, default=1200)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a temp SQLite file)")
    args = parser.parse_args()
    rng = random.Random(14)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, cleanup = database(args.database, folder)
        try:
            engine = db.make_engine(url)
            db.upgrade(engine)
            export = folder / "export.xml"
            export.write_text(wxr(many_items(args.tips)), encoding="utf-8")
            started = time.perf_counter()
            found = backissues.ArchiveReport()
            posts = backissues.read_posts(export, found)
            with db.transaction(db.session_factory(engine)) as session:
                backissues.import_posts(session, posts, found)
            print(
                f"{engine.dialect.name}: imported {len(found.added)} back issues in "
                f"{time.perf_counter() - started:.1f} s"
            )
            settings = settings_from_mapping(
                {"newsletter": {"postal_address": "1 Main St"}}, {"NEWSLETTER_SECRET_KEY": "k" * 32}
            )
            pages = -(-args.tips // 10)
            n = args.requests
            with TestClient(create_app(settings, engine)) as client:
                timed(client, ["/archive"] * 20)  # warm up
                report(
                    "archive page",
                    timed(client, [f"/archive?page={rng.randint(1, pages)}" for _ in range(n)]),
                )
                report(
                    "category page",
                    timed(
                        client, [f"/category/empathy?page={rng.randint(1, 10)}" for _ in range(n)]
                    ),
                )
                slugs = [p.slug for p in posts]
                report(
                    "tip page", timed(client, [f"/archive/{rng.choice(slugs)}" for _ in range(n)])
                )
                report(
                    "search", timed(client, [f"/archive?q={rng.choice(WORDS)}" for _ in range(n)])
                )
                report("categories page", timed(client, ["/categories"] * n))
            if engine.dialect.name == "postgresql":
                on_the_fly(engine, rng, n)
            engine.dispose()
        finally:
            cleanup()


def on_the_fly(engine: object, rng: random.Random, n: int) -> None:
    """The same search without the stored column: to_tsvector for every row, every time."""
    sql = text(
        "SELECT id FROM tips WHERE status IN ('sent', 'archived') AND "
        "(setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
        "setweight(to_tsvector('english', coalesce(body_md, '')), 'B')) "
        "@@ plainto_tsquery('english', :q) LIMIT 10"
    )
    ms = []
    with engine.connect() as conn:  # type: ignore[attr-defined]
        for _ in range(min(n, 60)):
            start = time.perf_counter()
            conn.execute(sql, {"q": rng.choice(WORDS)}).all()
            ms.append((time.perf_counter() - start) * 1000)
    report("search, to_tsvector on fly", ms)


if __name__ == "__main__":
    main()
