"""Sending throughput: a whole `newsletter send` against a bare httpx loop, CPU and memory.

    python bench/throughput.py                                    # 100,000, SQLite, 0 ms, 3 runs
    python bench/throughput.py --subscribers 10000 --latency-ms 50
    python bench/throughput.py --database postgresql://postgres@127.0.0.1:5432/postgres \\
        --workers 2 --subscribers 100000 --latency-ms 50

The provider is the test suite's Postmark fake (tests/fakes/postmark.py), a real HTTP server on
127.0.0.1 in this process, answering after --latency-ms. For each run, in fresh processes:

1. setup: a new database (a temp SQLite file, or a new PostgreSQL database) with N active
   subscribers and one queued tip;
2. the engine: the real command, `newsletter send` (one worker: the edition is created by it,
   rendering and the delivery rows included) or N × `newsletter send --worker` on an edition
   created in setup, timed from the start of the first process to the end of the last; each
   process reports its CPU time (getrusage) and peak RSS (VmHWM) at exit;
3. the ceiling: a bare httpx loop in a process of its own posting the same number of
   pre-built Postmark batches (500 messages of the same size) to the same fake with the same
   concurrency (x workers), counted from its first request.

Prints messages/s of both and their ratio, the engine's CPU per message and peak RSS per
process; medians of the runs. Goals: issue 13, 100,000 at 0 ms: ratio >= 0.75, CPU <= 80 µs a
message, peak RSS <= 120 MB and flat from 10,000; issue 16: 2 workers >= 1.7 x one worker at
50 ms, flat RSS up to 1,000,000 on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KEY = "test-key-123"
SECRET = "bench-signing-key-0123456789"  # noqa: S105 (a throwaway key for a throwaway database)
TIP = "When Greg entered the Tax Office, he was thinking about two things. " * 110
CONCURRENCY = 4


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: ru_maxrss survives fork and exec on Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ---- the database ------------------------------------------------------------------------


def new_database(base: str, folder: Path) -> tuple[str, str | None]:
    """(URL, PostgreSQL database to drop afterwards)."""
    if not base:
        return f"sqlite:///{folder / 'bench.db'}", None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"newsletter_bench_{secrets.token_hex(4)}"
    admin = make_url(base).set(drivername="postgresql+psycopg")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False), name


def drop_database(base: str, name: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(base).set(drivername="postgresql+psycopg")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def write_config(
    folder: Path,
    url: str,
    api_base: str,
    workers: int,
    concurrency: int = CONCURRENCY,
    batch_size: int = 0,
) -> Path:
    config = folder / "config.toml"
    config.write_text(
        textwrap.dedent(
            f"""\
            [newsletter]
            postal_address = "100 Main Street, Springfield, IL 62701, USA"
            base_url = "https://tips.example.com"

            [database]
            url = "{url}"

            [provider]
            name = "postmark"
            api_base = "{api_base}"
            concurrency = {concurrency}
            batch_size = {batch_size}
            rate_limit = 0

            [checks]
            spamassassin = false
            network = false
            """
        )
    )
    return config


def env(config: Path) -> dict[str, str]:
    # As a service would run: with its bytecode cached (this sandbox sets the variable).
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {
        **inherited,
        "NEWSLETTER_CONFIG": str(config),
        "NEWSLETTER_SECRET_KEY": SECRET,
        "NEWSLETTER_API_KEY": KEY,
    }


def setup(config: Path, subscribers: int, create_edition: bool) -> None:
    """In a process of its own: the schema, N subscribers, one tip (and the edition)."""
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from newsletter import db, imports, tips
        from newsletter.config import load_settings
        from newsletter.editions import open_edition
        from newsletter.suppression import SuppressionList
        from newsletter.weeks import IsoWeek, current_week
        from newsletter.models import utcnow
        settings = load_settings({str(config)!r})
        engine = db.make_engine(db.resolve_url(settings.database.url, settings.base_dir))
        db.upgrade(engine)
        folder = Path({str(config.parent)!r})
        (folder / "list.csv").write_text(
            "email,first_name\\n" + "".join(f"p{{i}}@example.com,Person{{i}}\\n" for i in range({subscribers}))
        )
        (folder / "tip.md").write_text("---\\ntitle: Make the Long Wait Feel Shorter\\n---\\n" + {TIP!r} + "\\n")
        factory = db.session_factory(engine)
        with db.transaction(factory) as session:
            imports.import_file(session, SuppressionList.from_settings(settings), folder / "list.csv")
            tips.add_tips(session, [folder / "tip.md"])
        if {create_edition}:
            open_edition(factory, settings, current_week(settings.schedule, utcnow()))
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env(config), cwd=config.parent)


# ---- the engine ----------------------------------------------------------------------------

# At exit, the process writes its CPU time and peak RSS (VmHWM) to $BENCH_REPORT.
REPORT = textwrap.dedent(
    """
    import atexit, json, os, resource
    def report():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        peak = 0.0
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
        with open(os.environ["BENCH_REPORT"], "w") as out:
            json.dump({"cpu": usage.ru_utime + usage.ru_stime, "peak_mb": peak}, out)
    atexit.register(report)
    """
)
# `newsletter ARGS`, measured.
MEASURED = REPORT + textwrap.dedent(
    """
    import runpy, sys
    sys.argv = ["newsletter", *sys.argv[1:]]
    runpy.run_module("newsletter", run_name="__main__")
    """
)


def engine_run(config: Path, workers: int, join: bool) -> dict[str, Any]:
    """The real command(s), each measured at its exit."""
    args = [["send", "--worker"]] * workers if join else [["send", "--yes"]]
    reports = [config.parent / f"report-{i}.json" for i in range(len(args))]
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MEASURED, *a],
            env={**env(config), "BENCH_REPORT": str(r)},
            cwd=config.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for a, r in zip(args, reports, strict=True)
    ]
    errors = [p.communicate()[1] for p in procs]
    seconds = time.perf_counter() - start
    for p, err in zip(procs, errors, strict=True):
        if p.returncode != 0:
            raise SystemExit(f"newsletter send exited {p.returncode}: {err.decode()[-2000:]}")
    measured = [json.loads(r.read_text()) for r in reports]
    return {
        "seconds": seconds,
        "cpu": sum(m["cpu"] for m in measured),
        "peak_mb": max(m["peak_mb"] for m in measured),
    }


# ---- the ceiling ---------------------------------------------------------------------------


def raw_loop(config: Path, subscribers: int, api_base: str, concurrency: int, batch: int) -> float:
    """In a process of its own: seconds for a bare httpx loop posting the same batches."""
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--raw-child",
            str(config),
            str(subscribers),
            api_base,
            str(concurrency),
            str(batch),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env(config),
    ).stdout
    return float(out.strip().splitlines()[-1])


def raw_child(
    config: str, subscribers: int, api_base: str, concurrency: int, batch: int = 500
) -> None:
    """Build one Postmark batch of ``batch`` messages the size of the edition's; post it."""
    import httpx

    from newsletter.config import load_settings
    from newsletter.content import RenderedEdition
    from newsletter.messages import MessageFactory
    from newsletter.names import PersonName
    from newsletter.providers import http
    from newsletter.providers.postmark import PostmarkProvider
    from newsletter.render import render_edition
    from newsletter.tokens import Tokens

    settings = load_settings(config)

    class Tip:
        title, slug, body_md, takeaway = "Make the Long Wait Feel Shorter", "m", TIP, ""

    import datetime

    rendered: RenderedEdition = render_edition(settings, Tip(), send_date=datetime.date.today())
    build = MessageFactory(settings, "2026-W48", 1, rendered, Tokens([SECRET]))
    adapter = PostmarkProvider(settings)
    messages = [
        build.build(i, i, f"p{i}@example.com", PersonName(f"Person{i}")) for i in range(batch)
    ]
    body = bytes(http.json_array(adapter.payload(m) for m in messages))
    adapter.close()
    headers = {"X-Postmark-Server-Token": KEY, **http.JSON_HEADERS}
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    batches = -(-subscribers // batch)
    with httpx.Client(base_url=api_base, headers=headers, limits=limits, timeout=120) as client:

        def post(_: int) -> None:
            client.post("/email/batch", content=body).raise_for_status()

        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(post, range(batches)))
        print(time.perf_counter() - start)


# ---- the runs ------------------------------------------------------------------------------


def one_run(args: argparse.Namespace, api_base: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, pg_name = new_database(args.database, folder)
        try:
            config = write_config(
                folder, url, api_base, args.workers, args.concurrency, args.batch_size
            )
            join = args.workers > 1 or args.join
            setup(config, args.subscribers, create_edition=join)
            engine = engine_run(config, args.workers, join)
            raw = raw_loop(
                config,
                args.subscribers,
                api_base,
                args.concurrency * args.workers,
                args.batch_size or 500,
            )
        finally:
            if pg_name:
                drop_database(args.database, pg_name)
    return {
        "engine_rate": args.subscribers / engine["seconds"],
        "raw_rate": args.subscribers / raw,
        "cpu_us": engine["cpu"] / args.subscribers * 1e6,
        "peak_mb": engine["peak_mb"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--join",
        action="store_true",
        help="one worker too joins an edition made in setup (as several workers do)",
    )
    parser.add_argument("--save", type=Path, help="append the result as a JSON line here")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="per worker")
    parser.add_argument("--batch-size", type=int, default=0, help="0: Postmark's 500")
    parser.add_argument("--raw-child", nargs=5, metavar="X")
    args = parser.parse_args()
    if args.raw_child:
        config, n, base, concurrency, batch = args.raw_child
        raw_child(config, int(n), base, int(concurrency), int(batch))
        return
    if args.workers > 1 and not args.database:
        raise SystemExit("--workers needs --database postgresql://… (SQLite has one writer)")
    sys.path.insert(0, str(ROOT))
    from tests.fakes.postmark import PostmarkFake

    fake = PostmarkFake(KEY)
    fake.keep = False
    fake.delay = args.latency_ms / 1000
    fake.start()
    try:
        runs = [one_run(args, fake.url) for _ in range(args.runs)]
    finally:
        fake.stop()
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    where = "PostgreSQL" if args.database else "SQLite"
    print(
        f"Postmark fake, {args.latency_ms:g} ms; {args.subscribers:,} subscribers; {where}; "
        f"{args.workers} worker(s) x {args.concurrency} batches of {args.batch_size or 500} "
        f"in flight; medians of {args.runs} runs"
    )
    each = ", ".join(f"{r['engine_rate']:,.0f}" for r in runs)
    print(f"newsletter send:  {med['engine_rate']:,.0f} msg/s ({each})")
    print(
        f"bare httpx loop:  {med['raw_rate']:,.0f} msg/s (same batches, same fake, same concurrency)"
    )
    print(f"ratio:            {med['engine_rate'] / med['raw_rate']:.2f}   (goal >= 0.75)")
    print(f"CPU per message:  {med['cpu_us']:.0f} µs   (goal <= 80 µs)")
    print(f"peak RSS:         {med['peak_mb']:.0f} MB per sending process   (goal <= 120 MB)")
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "database": where,
        "subscribers": args.subscribers,
        "workers": args.workers,
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "batch_size": args.batch_size or 500,
        "join": args.workers > 1 or args.join,
        "runs": runs,
        "median": med,
    }
    print(json.dumps(result))
    if args.save:
        with args.save.open("a", encoding="utf-8") as out:
            out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
