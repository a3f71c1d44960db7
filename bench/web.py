"""The web app under load: a real `newsletter serve --workers N`, driven by wrk, against targets.

    python bench/web.py [--workers 2] [--seconds 10] [--runs 3] [--connections 16]
                        [--subscribers 2000] [--tips 1200] [--client wrk|python]

Sets up a temp SQLite database (2,000 subscribers, 1,200 imported back issues), starts
`newsletter serve --workers N` on a free loopback port, and drives it with `wrk -t2 -c16`
(Debian: `apt-get install wrk`; without it, a Python client of threads, which is itself the
bottleneck: its figures are a floor) for --seconds per run, --runs runs each, after a warm-up:

- unsubscribe GET: the confirm page of 2,000 different links (the token checked, one lookup);
- archive page: /archive and its pages 2 to 20;
- tip page: 120 different back issues.

Then the same client against a bare uvicorn app (the same worker count, a fixed 6 KB page) as
the ceiling on this machine. Prints the medians of requests/s and p99 beside the targets.
Everything binds to 127.0.0.1; every server started here is stopped here, by its PID.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {  # requests/s at least, p99 below (ms); None: no target
    "unsubscribe GET": (1500.0, 50.0),
    "archive page": (1000.0, None),
    "tip page": (None, None),
}
SECRET = "bench-key-0123456789-0123456789"  # noqa: S105 (a throwaway signing key)

BARE_APP = """
import sys

import uvicorn
from uvicorn.supervisors import Multiprocess

from newsletter.web.workers import listening_socket

PAGE = b"<!doctype html><title>bare</title>" + b"x" * 6000


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8")]})
    await send({"type": "http.response.body", "body": PAGE})


if __name__ == "__main__":
    # As `newsletter serve --workers N` runs its workers: one TCP socket, N processes.
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    config = uvicorn.Config("bare:app", workers=workers, port=port, log_level="warning")
    Multiprocess(config, sockets=[listening_socket("127.0.0.1", port)]).run()
"""

WRK_SCRIPT = """
local paths = {%s}
local i = 0
init = function(args)
  i = math.random(#paths)
end
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99)))
  io.write(string.format("ERRORS %%d\\n", e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass(frozen=True)
class Run:
    rate: float  # requests/s
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup(
    folder: Path, subscribers: int, tips: int, port: int
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """A database with readers and back issues; the env for `newsletter serve`; paths to hit."""
    from newsletter import backissues, db, imports
    from newsletter.suppression import SuppressionList
    from newsletter.tokens import UNSUBSCRIBE, Tokens
    from tests.archivegen import many_items, wxr

    config = folder / "config.toml"
    config.write_text(
        f'[newsletter]\npostal_address = "1 Main St"\nbase_url = "http://127.0.0.1:{port}"\n'
        f'[database]\nurl = "sqlite:///{folder / "n.db"}"\n'
    )
    env = {**os.environ, "NEWSLETTER_CONFIG": str(config), "NEWSLETTER_SECRET_KEY": SECRET}
    engine = db.make_engine(f"sqlite:///{folder / 'n.db'}")
    db.upgrade(engine)
    (folder / "list.csv").write_text(
        "email\n" + "".join(f"r{i}@example.com\n" for i in range(subscribers))
    )
    export = folder / "export.xml"
    export.write_text(wxr(many_items(tips)), encoding="utf-8")
    found = backissues.ArchiveReport()
    posts = backissues.read_posts(export, found)
    with db.transaction(db.session_factory(engine)) as session:
        imports.import_file(session, SuppressionList([SECRET]), folder / "list.csv")
        backissues.import_posts(session, posts, found)
    engine.dispose()
    tokens = Tokens([SECRET])
    pages = min(20, -(-tips // 10))
    paths = {
        "unsubscribe GET": [f"/u/{tokens.make(UNSUBSCRIBE, i + 1)}" for i in range(subscribers)],
        "archive page": ["/archive"] + [f"/archive?page={n}" for n in range(2, pages + 1)],
        "tip page": [f"/archive/{p.slug}" for p in posts[:120]],
    }
    return env, paths


def start(command: list[str], env: dict[str, str], cwd: Path, base: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(200):
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited: {' '.join(command)}") from None
            time.sleep(0.1)
    stop(proc)
    raise SystemExit("the server did not answer in 20 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def with_wrk(base: str, paths: list[str], seconds: float, connections: int, folder: Path) -> Run:
    script = folder / "paths.lua"
    script.write_text(WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths))
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    found = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+)", out)
    errors = re.search(r"ERRORS (\d+)", out)
    assert found and errors, out
    requests, duration_us, p50_us, p99_us = (int(x) for x in found.groups())
    return Run(requests / (duration_us / 1e6), p50_us / 1e3, p99_us / 1e3, int(errors.group(1)))


def with_python(base: str, paths: list[str], seconds: float, connections: int) -> Run:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    cursor = itertools.count()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        nonlocal errors
        with httpx.Client(base_url=base, timeout=10) as client:
            while time.monotonic() < stop_at:
                path = paths[next(cursor) % len(paths)]
                started = time.perf_counter()
                status = client.get(path).status_code
                took = time.perf_counter() - started
                with lock:
                    latencies.append(took)
                    errors += status != 200

    began = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    ordered = sorted(latencies)
    p99 = ordered[max(0, round(len(ordered) * 0.99) - 1)]
    return Run(len(ordered) / elapsed, statistics.median(ordered) * 1e3, p99 * 1e3, errors)


def median_run(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.rate for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        sum(r.errors for r in runs),
    )


def verdict(run: Run, target: tuple[float | None, float | None]) -> str:
    rate, p99 = target
    if rate is None and p99 is None:
        return "—"
    ok = (rate is None or run.rate >= rate) and (p99 is None or run.p99_ms < p99)
    wanted = " and ".join(
        part
        for part in (f"≥ {rate:,.0f} req/s" if rate else "", f"p99 < {p99:.0f} ms" if p99 else "")
        if part
    )
    return f"{wanted}: {'ok' if ok else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--tips", type=int, default=1200)
    parser.add_argument("--client", choices=("wrk", "python"), default=None)
    args = parser.parse_args()
    client = args.client or ("wrk" if shutil.which("wrk") else "python")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env, paths = setup(folder, args.subscribers, args.tips, port)

        def drive(target: str, these: list[str], seconds: float) -> Run:
            if client == "wrk":
                return with_wrk(target, these, seconds, args.connections, folder)
            return with_python(target, these, seconds, args.connections)

        print(
            f"newsletter serve --workers {args.workers} (SQLite; {args.subscribers:,} subscribers, "
            f"{args.tips:,} back issues); client: {client}"
            + (f" -t2 -c{args.connections}" if client == "wrk" else f", {args.connections} threads")
            + f"; {args.runs} runs of {args.seconds:g} s, medians"
        )
        server = start(
            [
                sys.executable,
                "-m",
                "newsletter",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env,
            folder,
            base,
        )
        results: dict[str, Run] = {}
        try:
            for name, these in paths.items():
                drive(base, these, 2)  # warm-up: imports, templates, caches, connections
                results[name] = median_run(
                    [drive(base, these, args.seconds) for _ in range(args.runs)]
                )
        finally:
            stop(server)
        (folder / "bare.py").write_text(BARE_APP)
        bare = start(
            [sys.executable, "bare.py", str(port), str(args.workers)],
            {**env, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])},
            folder,
            base,
        )
        try:
            drive(base, ["/healthz"], 2)
            ceiling = median_run(
                [drive(base, ["/healthz"], args.seconds) for _ in range(args.runs)]
            )
        finally:
            stop(bare)
    print(f"{'':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}   target")
    for name, run in results.items():
        judged = verdict(run, TARGETS[name]) if client == "wrk" else "— (judged with wrk only)"
        print(
            f"{name:<18} {run.rate:8,.0f} {run.p50_ms:8.1f} {run.p99_ms:8.1f} {run.errors:7d}   "
            f"{judged}"
        )
    print(
        f"{'ceiling (bare)':<18} {ceiling.rate:8,.0f} {ceiling.p50_ms:8.1f} {ceiling.p99_ms:8.1f} "
        f"{ceiling.errors:7d}   a bare uvicorn app, same workers, a fixed 6 KB page"
    )


if __name__ == "__main__":
    main()
