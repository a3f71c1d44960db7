"""One rate limit for every worker: the rate the provider sees, with 1 and with 3 workers.

    python bench/rate.py --database postgresql://postgres@127.0.0.1:5432/postgres
    python bench/rate.py --database … --rate 200 --seconds 60 --workers 1 3

`[provider] rate_limit` is the account's limit: however many `newsletter send --worker`
processes share an edition, the provider must see it. For each worker count, a fresh
PostgreSQL database gets enough subscribers for --seconds at --rate, the workers send to the
Postmark fake (tests/fakes) in this process, and the rate is measured where it matters, at
the provider: messages it took after its first batch, over the time from its first batch to
its last. Goal (issue 16): within ±5% of the limit over a minute, whatever the number of
workers.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from throughput import drop_database, env, new_database, setup, write_config  # noqa: E402

from tests.fakes.postmark import PostmarkFake  # noqa: E402


def one(database: str, rate: float, seconds: float, workers: int, fake: PostmarkFake) -> float:
    subscribers = int(rate * seconds)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, name = new_database(database, folder)
        try:
            config = write_config(folder, url, fake.url, workers, batch_size=50)
            config.write_text(
                config.read_text().replace("rate_limit = 0", f"rate_limit = {rate:g}")
            )
            setup(config, subscribers, create_edition=True)
            fake.taken_at.clear()
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "newsletter", "send", "--worker"],
                    env=env(config),
                    cwd=folder,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                for _ in range(workers)
            ]
            for p in procs:
                _, err = p.communicate()
                if p.returncode != 0:
                    raise SystemExit(f"a worker exited {p.returncode}: {err.decode()[-1500:]}")
        finally:
            if name:
                drop_database(database, name)
    (first, first_n), (last, _) = fake.taken_at[0], fake.taken_at[-1]
    return (sum(n for _, n in fake.taken_at) - first_n) / (last - first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a PostgreSQL URL")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args()
    fake = PostmarkFake("test-key-123")
    fake.keep = False
    fake.start()
    try:
        print(f"rate_limit = {args.rate:g} messages/s; {args.seconds:g} s of sending each")
        for n in args.workers:
            achieved = one(args.database, args.rate, args.seconds, n, fake)
            off = (achieved / args.rate - 1) * 100
            print(f"{n} worker(s): {achieved:,.1f} msg/s at the provider ({off:+.1f}%; goal ±5%)")
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
