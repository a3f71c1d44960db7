"""Sending throughput: the engine against the bare transport, and its memory.

    python bench/throughput.py --subscribers 100000 --provider outbox
    python bench/throughput.py --subscribers 10000 --runs 3

For each run, in a fresh process: a temp SQLite database with N active subscribers and one
tip; then (1) the engine, `send_week`, timed from the first claim to the last commit, and
(2) the ceiling: a raw loop that builds the same messages and hands them to the same provider
in the same batches, with no database. Prints messages/s for both, their ratio, and the peak
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
from pathlib import Path


def child(subscribers: int, provider_name: str, mode: str, folder: Path) -> dict[str, float]:
    from newsletter import db, tips
    from newsletter import subscribers as people
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
            "provider": {"name": provider_name, "outbox_dir": str(folder / "outbox")},
        },
        {"NEWSLETTER_SECRET_KEY": "bench-key-0123456789"},
        folder / "config.toml",
    )
    engine = db.make_engine(settings.database.url)
    db.upgrade(engine)
    factory = db.session_factory(engine)
    csv_path = folder / "list.csv"
    csv_path.write_text(
        "email,name\n" + "".join(f"p{i}@example.com,Person {i}\n" for i in range(subscribers))
    )
    (folder / "tip.md").write_text(
        "---\ntitle: Make the Long Wait Feel Shorter\n---\n"
        + "When Greg entered the Tax Office, he was thinking. " * 120
    )
    with db.transaction(factory) as session:
        people.import_csv(session, csv_path)
        tips.add_tips(session, [folder / "tip.md"])
    week = IsoWeek(2026, 48)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
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
        start = time.perf_counter()
        batch = []
        for i in range(subscribers):
            batch.append(build.build(i + 1, i + 1, f"p{i}@example.com", f"Person {i}"))
            if len(batch) == provider.max_batch:
                provider.send_batch(batch, "raw")
                batch = []
        if batch:
            provider.send_batch(batch, "raw")
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rate": subscribers / seconds,
        "seconds": seconds,
        "peak_mb": peak / 1024,
        "base_mb": base_rss / 1024,
    }


def measure(subscribers: int, provider: str, mode: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--subscribers",
                str(subscribers),
                "--provider",
                provider,
                "--folder",
                tmp,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--provider", default="outbox")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=("engine", "raw"))
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.subscribers, args.provider, args.child, args.folder)))
        return
    engine, raw = [], []
    for _ in range(args.runs):
        engine.append(measure(args.subscribers, args.provider, "engine"))
        raw.append(measure(args.subscribers, args.provider, "raw"))
    e = statistics.median(r["rate"] for r in engine)
    r = statistics.median(r["rate"] for r in raw)
    print(f"provider={args.provider} subscribers={args.subscribers:,} runs={args.runs}")
    each = ", ".join(f"{x['rate']:,.0f}" for x in engine)
    print(f"engine: median {e:,.0f} msg/s ({each})")
    print(f"raw loop (same messages, same provider, no database): median {r:,.0f} msg/s")
    print(f"ratio engine/raw: {e / r:.2f}")
    print(
        f"engine peak RSS: median {statistics.median(x['peak_mb'] for x in engine):.0f} MB "
        f"(of which {statistics.median(x['base_mb'] for x in engine):.0f} MB before the send: setup and import)"
    )


if __name__ == "__main__":
    main()
