"""Sending throughput: the engine against the bare transport, and its memory.

    python bench/throughput.py --subscribers 100000 --provider outbox
    python bench/throughput.py --subscribers 100000 --provider postmark-fake --latency-ms 50
    python bench/throughput.py --subscribers 10000 --provider sendgrid-fake --runs 3

The fakes are the test suite's provider servers (tests/fakes), run in this process on
127.0.0.1 with an added answer delay of --latency-ms.

For each run, in a fresh process: a temp SQLite database with N active subscribers and one
tip; then (1) the engine, `send_week`, timed from the first claim to the last commit, and
(2) the ceiling: a raw loop that builds the same messages and hands them to the same provider
in the same batches, as many at a time as the engine's concurrency, with no database. Prints messages/s for both, their ratio, and the peak
RSS of the engine's process. Goals (issue 5): ratio >= 0.80 with a 0 ms transport; peak RSS
<= 120 MB at 100k and <= 20 MB more than at 10k.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: on Linux ru_maxrss survives fork and
    exec, so a child would report its parent's peak (the fake server's) as its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(engine: Any, factory: Any, folder: Path, subscribers: int) -> None:
    """A database with ``subscribers`` active subscribers and one queued tip."""
    from newsletter import db, imports, tips
    from newsletter.suppression import SuppressionList

    db.upgrade(engine)
    csv_path = folder / "list.csv"
    csv_path.write_text(
        "email,name\n" + "".join(f"p{i}@example.com,Person {i}\n" for i in range(subscribers))
    )
    tip = "When Greg entered the Tax Office, he was thinking. " * 120
    (folder / "tip.md").write_text(f"---\ntitle: Make the Long Wait Feel Shorter\n---\n{tip}\n")
    with db.transaction(factory) as session:
        imports.import_file(session, SuppressionList(["bench-key"]), csv_path)
        tips.add_tips(session, [folder / "tip.md"])


def child(
    subscribers: int, provider_name: str, mode: str, folder: Path, api_base: str
) -> dict[str, float]:
    from newsletter import db
    from newsletter.config import settings_from_mapping
    from newsletter.editions import open_edition, rendered
    from newsletter.messages import MessageFactory
    from newsletter.providers.registry import make_provider
    from newsletter.sending import send_week
    from newsletter.tokens import Tokens
    from newsletter.weeks import IsoWeek

    settings = settings_from_mapping(
        {
            "newsletter": {"postal_address": "100 Main St", "base_url": "https://tips.example.com"},
            "database": {"url": f"sqlite:///{folder / 'bench.db'}"},
            "provider": {
                "name": provider_name,
                "outbox_dir": str(folder / "outbox"),
                "api_base": api_base,
                "rate_limit": 1e9,
            },
        },
        {"NEWSLETTER_SECRET_KEY": "bench-key-0123456789", "NEWSLETTER_API_KEY": "test-key-123"},
        folder / "config.toml",
    )
    engine = db.make_engine(settings.database.url)
    factory = db.session_factory(engine)
    week = IsoWeek(2026, 48)
    if mode == "setup":
        setup(engine, factory, folder, subscribers)
        return {}
    base_mb = peak_rss_mb()
    if mode == "engine":
        open_edition(factory, settings, week)
        start = time.perf_counter()
        report = send_week(settings, week, engine=engine)
        seconds = time.perf_counter() - start
        assert report.counts["sent"] == subscribers, report.counts
    else:
        edition, _ = open_edition(factory, settings, week)
        provider = make_provider(settings)
        build = MessageFactory(
            settings, str(week), edition.id, rendered(edition), Tokens(["bench-key-0123456789"])
        )
        size = provider.max_batch

        def one_batch(first: int) -> None:
            batch = [
                build.build(i + 1, i + 1, f"p{i}@example.com", f"Person {i}")
                for i in range(first, min(first + size, subscribers))
            ]
            provider.send_batch(batch, f"raw-{first}")

        start = time.perf_counter()
        with ThreadPoolExecutor(settings.provider.concurrency) as pool:
            list(pool.map(one_batch, range(0, subscribers, size)))
        seconds = time.perf_counter() - start
    return {
        "rate": subscribers / seconds,
        "seconds": seconds,
        "peak_mb": peak_rss_mb(),
        "base_mb": base_mb,
    }


def measure(subscribers: int, provider: str, mode: str, api_base: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        for step in ("setup", mode):
            out = _run_child(subscribers, provider, step, api_base, tmp)
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _run_child(subscribers: int, provider: str, mode: str, api_base: str, tmp: str) -> str:
    command = [sys.executable, __file__, "--child", mode, "--subscribers", str(subscribers)]
    command += ["--provider", provider, "--folder", tmp, "--api-base", api_base]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--provider", default="outbox")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=("setup", "engine", "raw"))
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--api-base", default="")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    if args.child:
        print(
            json.dumps(
                child(args.subscribers, args.provider, args.child, args.folder, args.api_base)
            )
        )
        return
    fake = None
    name = args.provider
    if args.provider.endswith("-fake"):
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.fakes.postmark import PostmarkFake
        from tests.fakes.sendgrid import SendGridFake

        name = args.provider.removesuffix("-fake")
        fake = {"postmark": PostmarkFake, "sendgrid": SendGridFake}[name]()
        fake.keep = False
        fake.delay = args.latency_ms / 1000
        fake.start()
    engine, raw = [], []
    try:
        for _ in range(args.runs):
            engine.append(measure(args.subscribers, name, "engine", fake.url if fake else ""))
            raw.append(measure(args.subscribers, name, "raw", fake.url if fake else ""))
    finally:
        if fake is not None:
            fake.stop()
    e = statistics.median(r["rate"] for r in engine)
    r = statistics.median(r["rate"] for r in raw)
    print(
        f"provider={args.provider} latency={args.latency_ms:g} ms subscribers={args.subscribers:,} runs={args.runs}"
    )
    each = ", ".join(f"{x['rate']:,.0f}" for x in engine)
    print(f"engine: median {e:,.0f} msg/s ({each})")
    print(f"raw loop (same messages, same provider, no database): median {r:,.0f} msg/s")
    print(f"ratio engine/raw: {e / r:.2f}")
    print(
        f"engine peak RSS: median {statistics.median(x['peak_mb'] for x in engine):.0f} MB "
        f"(of which {statistics.median(x['base_mb'] for x in engine):.0f} MB at start: interpreter and libraries)"
    )


if __name__ == "__main__":
    main()
