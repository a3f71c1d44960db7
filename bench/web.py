"""Unsubscribe under load: GET and POST rates and latency against a real `newsletter serve`.

    python bench/web.py [--subscribers 2000] [--seconds 10] [--workers 8]

Starts `newsletter serve` (uvicorn, one process) on a free loopback port over a temp SQLite
database, then drives it from this process with `--workers` threads for `--seconds` per phase:
GET of unsubscribe links (the confirm page), then one-click POSTs (each subscriber once).
Prints requests/s and p50/p99 latency. Bounded in time; loopback only.
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup(folder: Path, subscribers: int, port: int) -> tuple[dict[str, str], list[str]]:
    from newsletter import db, imports
    from newsletter.suppression import SuppressionList
    from newsletter.tokens import UNSUBSCRIBE, Tokens

    config = folder / "config.toml"
    config.write_text(
        f'[newsletter]\npostal_address = "1 Main St"\nbase_url = "http://127.0.0.1:{port}"\n[database]\nurl = "sqlite:///{folder / "n.db"}"\n'
    )
    env = {
        **os.environ,
        "NEWSLETTER_CONFIG": str(config),
        "NEWSLETTER_SECRET_KEY": "bench-key-0123456789",
    }
    engine = db.make_engine(f"sqlite:///{folder / 'n.db'}")
    db.upgrade(engine)
    (folder / "list.csv").write_text(
        "email\n" + "".join(f"r{i}@example.com\n" for i in range(subscribers))
    )
    with db.transaction(db.session_factory(engine)) as session:
        imports.import_file(session, SuppressionList(["bench-key"]), folder / "list.csv")
    tokens = Tokens(["bench-key-0123456789"])
    return env, [f"/u/{tokens.make(UNSUBSCRIBE, i + 1)}" for i in range(subscribers)]


def drive(
    base: str, paths: list[str], method: str, seconds: float, workers: int
) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    # GETs cycle through the links; each POST unsubscribes a different subscriber once.
    cursor = itertools.count() if method == "GET" else iter(range(len(paths)))

    def worker() -> None:
        nonlocal errors
        with httpx.Client(base_url=base, timeout=10) as client:
            while time.monotonic() < stop_at:
                with lock:
                    i = next(cursor, None)
                if i is None:
                    return
                start = time.perf_counter()
                if method == "GET":
                    r = client.get(paths[i % len(paths)])
                else:
                    r = client.post(
                        paths[i],
                        content=b"List-Unsubscribe=One-Click",
                        headers={"content-type": "application/x-www-form-urlencoded"},
                    )
                took = time.perf_counter() - start
                with lock:
                    latencies.append(took)
                    errors += r.status_code != 200

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies), latencies, errors


def report(name: str, count: int, latencies: list[float], errors: int, seconds: float) -> None:
    ordered = sorted(latencies)
    p99 = ordered[int(len(ordered) * 0.99) - 1] if ordered else 0.0
    print(
        f"{name}: {count / seconds:,.0f} req/s over {seconds:.1f} s; p50 {statistics.median(ordered) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms; {errors} non-200"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env, paths = setup(Path(tmp), args.subscribers, port)
        server = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "serve", "--port", str(port)],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            print(
                f"newsletter serve (1 uvicorn process, SQLite), {args.workers} client threads, {args.subscribers:,} subscribers"
            )
            for method in ("GET", "POST"):
                start = time.monotonic()
                count, latencies, errors = drive(base, paths, method, args.seconds, args.workers)
                report(f"unsubscribe {method}", count, latencies, errors, time.monotonic() - start)
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
