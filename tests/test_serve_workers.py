"""`newsletter serve --workers N`: N processes answer as one site, each with its own database
engine and mail sender, and a change to the archive reaches every one of them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from newsletter.tokens import UNSUBSCRIBE, Tokens
from tests.archivegen import FIXTURE
from tests.conftest import TEST_SECRET, Project, free_port, tip_text, wait_for


def workers_of(pid: int) -> set[int]:
    """The worker processes ``pid`` spawned (Linux /proc; not multiprocessing's helper)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if parent == pid and b"spawn_main" in command:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def until(check: object, what: str, seconds: float = 10) -> None:
    """Poll ``check()`` until it is true (``seconds`` at most)."""
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.1)


@pytest.fixture
def served(project: Project) -> Iterator[tuple[Project, str, set[int]]]:
    """`newsletter --config FILE serve --workers 2`, with no NEWSLETTER_CONFIG in its env."""
    assert project.run("archive", "import", str(FIXTURE)).exit_code == 0
    assert project.run("subscribers", "add", "ann@example.com").exit_code == 0
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "NEWSLETTER_CONFIG"} | project.env
    command = ["--config", str(project.config), "serve", "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsletter", *command],
        cwd=project.dir.parent,  # not the config's folder: the workers find it all the same
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    workers: set[int] = set()
    try:
        wait_for(f"{base}/healthz")
        until(lambda: len(workers_of(proc.pid)) >= 2, "two worker processes")
        workers = {pid for pid in workers_of(proc.pid) if alive(pid)}
        yield project, base, workers
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
        until(lambda: not any(alive(pid) for pid in workers), "the workers' exit")
    assert proc.returncode == 0, output
    assert "Traceback" not in output


@pytest.mark.slow
def test_two_workers_serve_one_site(served: tuple[Project, str, set[int]]) -> None:
    project, base, workers = served
    assert len(workers) == 2
    token = Tokens([TEST_SECRET]).make(UNSUBSCRIBE, 1)
    with httpx.Client(base_url=base, timeout=10) as client:
        pages = [client.get("/archive") for _ in range(10)]
        assert {p.status_code for p in pages} == {200}
        assert len({p.headers["etag"] for p in pages}) == 1, "every worker renders the same page"
        assert "Unsubscribe?" in client.get(f"/u/{token}").text
        done = client.post(f"/u/{token}", content=b"List-Unsubscribe=One-Click")
        assert done.status_code == 200
        assert [s["status"] for s in project.rows("subscribers")] == ["unsubscribed"]
        for i in range(4):
            assert client.post("/signup", data={"email": f"new{i}@example.com"}).status_code == 200

        def sent() -> bool:
            return all(r["status"] == "sent" for r in project.rows("outgoing_mail"))

        until(sent, "the confirmations")
    mails = sorted((project.dir / "outbox" / "confirmations").glob("*.eml"))
    assert len(mails) == 4, "each confirmation once, whichever worker's sender took it"


@pytest.mark.slow
def test_an_archive_change_reaches_every_worker(served: tuple[Project, str, set[int]]) -> None:
    project, base, _ = served
    with httpx.Client(base_url=base, timeout=10) as client:
        for _ in range(10):
            assert "Be Patient" not in client.get("/archive").text
        project.write("tips/new.md", tip_text("Be Patient", "Slow down.", date="2026-03-03"))
        assert project.run("tips", "add", "tips/new.md").exit_code == 0

        def everywhere() -> bool:
            return all("Be Patient" in client.get("/archive").text for _ in range(10))

        until(everywhere, "the new back issue on every worker's archive page", seconds=5)


def test_serve_refuses_a_bad_worker_count_and_a_bad_database(project: Project) -> None:
    refused = project.run("serve", "--workers", "0")
    assert refused.exit_code == 2
    assert "--workers" in refused.output
    project.env["NEWSLETTER_DATABASE_URL"] = f"sqlite:///{project.dir / 'missing' / 'x.db'}"
    missing = project.run("serve", "--workers", "2")
    assert missing.exit_code == 1
    assert "no database at" in missing.output
    assert "Traceback" not in missing.output
