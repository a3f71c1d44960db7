"""The dashboard with 100,000 subscribers and 100 editions: every page's p50/p99 against 100 ms.

    python bench/dashboard.py [--subscribers 100000] [--editions 100] [--requests 200]
                              [--database URL]

Seeds a temp SQLite file (or a fresh schema of the PostgreSQL server at --database) in bulk
(tests/seeding.py: a list that grew over the weeks, one edition a week to everyone subscribed
then, with failed and in-doubt rows, two sending runs on some, unsubscribes, bounces and
complaints attributed to editions), logs in, opens every page once (the first look at the
editions counts each settled edition once and keeps the counts: that cost is printed), then
times requests through the app in this process (Starlette's test client: the route, its
queries and the template, without the network) and prints p50/p99 of each page.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.archive import database  # a temp SQLite file, or a fresh PostgreSQL schema
from newsletter import admins, db
from newsletter.config import settings_from_mapping
from newsletter.web import create_app
from tests.seeding import FIRST, LAST, seed

CEILING_MS = 100.0
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
EMAIL, PASSWORD = "bench@example.com", "a bench password"


def timed(
    client: TestClient, paths: list[str], headers: dict[str, str] | None = None
) -> list[float]:
    out = []
    for path in paths:
        start = time.perf_counter()
        answer = client.get(path, headers=headers)
        out.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
        assert "/admin/login" not in str(answer.url), path
    return out


def report(label: str, ms: list[float]) -> bool:
    ms.sort()
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, round(len(ms) * 0.99))]
    ok = p99 < CEILING_MS
    print(
        f"{label:<34} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   ceiling {CEILING_MS:.0f} ms  "
        f"{'ok' if ok else 'OVER'}"
    )
    return ok


def login(client: TestClient) -> None:
    page = client.get("/admin/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    answer = client.post(
        "/admin/login", data={"csrf": csrf.group(1), "email": EMAIL, "password": PASSWORD}
    )
    assert answer.url.path == "/admin/", answer.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--editions", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a temp SQLite file)")
    args = parser.parse_args()
    rng = random.Random(15)
    with tempfile.TemporaryDirectory() as tmp:
        url, cleanup = database(args.database, Path(tmp))
        try:
            engine = db.make_engine(url)
            db.upgrade(engine)
            started = time.perf_counter()
            seeded = seed(engine, subscribers=args.subscribers, editions=args.editions, now=NOW)
            if engine.dialect.name == "postgresql":
                # What autovacuum does after a bulk load: statistics, and the visibility map
                # that lets counts read the indexes alone.
                with engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                        "VACUUM ANALYZE"
                    )
            with engine.connect() as conn:
                rows = conn.exec_driver_sql("SELECT count(*) FROM deliveries").scalar()
            print(
                f"{engine.dialect.name}: seeded {args.subscribers:,} subscribers, "
                f"{args.editions} editions, {rows:,} deliveries in "
                f"{time.perf_counter() - started:.1f} s"
            )
            with db.transaction(db.session_factory(engine)) as session:
                admins.add(session, EMAIL, PASSWORD)
            settings = settings_from_mapping(
                {"newsletter": {"postal_address": "1 Main St", "base_url": "https://x.example"}},
                {"NEWSLETTER_SECRET_KEY": "k" * 32, "NEWSLETTER_WEB_METRICS_TOKEN": "t" * 24},
            )
            run(settings, engine, seeded.weeks, rng, args.requests, args.subscribers)
            engine.dispose()
        finally:
            cleanup()


def run(
    settings: object, engine: object, weeks: list[str], rng: random.Random, n: int, people: int
) -> None:
    with TestClient(create_app(settings, engine), base_url="https://x.example") as client:  # type: ignore[arg-type]
        login(client)
        cold = time.perf_counter()
        client.get("/admin/editions")
        print(
            f"first look at the editions (counts kept for {len(weeks)} settled editions): "
            f"{(time.perf_counter() - cold) * 1000:.0f} ms, once"
        )
        for week in weeks:  # each report's runs and timing are kept on its first look
            client.get(f"/admin/editions/{week}")
        words = [w.lower() for w in FIRST + LAST]
        pages = {
            "overview": lambda: "/admin/",
            "queue": lambda: "/admin/queue",
            "add a tip (form)": lambda: "/admin/queue/new",
            "editions, page 1": lambda: "/admin/editions",
            "editions, page 3": lambda: "/admin/editions?page=3",
            "edition report": lambda: f"/admin/editions/{rng.choice(weeks)}",
            "edition report, problems page 2": lambda: f"/admin/editions/{weeks[-1]}?page=2",
            "newest edition report": lambda: f"/admin/editions/{weeks[-1]}",
            "subscribers": lambda: "/admin/subscribers",
            "subscribers, deep page": lambda: (
                f"/admin/subscribers?page={rng.randint(1, people // 50)}"
            ),
            "subscribers, status filter": lambda: "/admin/subscribers?status=unsubscribed",
            "search, a name": lambda: f"/admin/subscribers?q={rng.choice(words)}",
            "search, name and number": lambda: (
                f"/admin/subscribers?q={rng.choice(words)}+{rng.randint(1, 999)}"
            ),
            "search, address prefix": lambda: f"/admin/subscribers?q=ann.lee{rng.randint(1, 99)}",
            "one subscriber": lambda: f"/admin/subscribers/{rng.randint(1, people)}",
            "growth, 26 weeks": lambda: "/admin/growth",
            "growth, 104 weeks": lambda: "/admin/growth?weeks=104",
            "import (form)": lambda: "/admin/subscribers/import",
        }
        timed(client, [make() for make in pages.values() for _ in range(3)])  # warm up
        ok = True
        for label, make in pages.items():
            ok &= report(label, timed(client, [make() for _ in range(n)]))
        bearer = {"Authorization": "Bearer " + "t" * 24}
        ok &= report("/metrics", timed(client, ["/metrics"] * n, bearer))
        print("every page under the ceiling" if ok else "SOME PAGES ARE OVER THE CEILING")


if __name__ == "__main__":
    main()
