"""The signup form through a real server (``newsletter serve`` on 127.0.0.1) and a provider fake
that answers slowly: answer times reveal nothing, and nobody's mailbox can be flooded."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Project, free_port, wait_for
from tests.fakes.postmark import PostmarkFake

SLOW_PROVIDER = 0.3  # seconds per call: what the request would wait if it sent the email itself


@pytest.fixture
def server(project: Project) -> Iterator[tuple[Project, str, PostmarkFake]]:
    fake = PostmarkFake().start()
    fake.delay = SLOW_PROVIDER
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    project.provider(name="postmark", api_base=fake.url)
    project.config.write_text(
        project.config.read_text()
        + "\n[signup]\nper_ip_limit = 5\nconfirm_interval_minutes = 10\nconfirm_per_day = 3\n"
    )
    project.env["NEWSLETTER_API_KEY"] = fake.api_key
    env = {**os.environ, "NEWSLETTER_CONFIG": str(project.config), **project.env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "serve", "--port", str(port)],
        cwd=project.dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(f"{base}/healthz")
        yield project, base, fake
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
        fake.stop()


def settle(fake: PostmarkFake, seconds: float = 3.0) -> None:
    """Give the background sender time to send what was queued."""
    time.sleep(seconds)


@pytest.mark.slow
def test_answer_times_are_the_same_for_new_active_unsubscribed_and_complained_addresses(
    server: tuple[Project, str, PostmarkFake],
) -> None:
    project, base, fake = server
    project.run("subscribers", "add", "active@example.com")
    project.run("subscribers", "add", "left@example.com")
    project.run("subscribers", "unsubscribe", "left@example.com")
    project.run("subscribers", "add", "angry@example.com")
    project.run("subscribers", "suppress", "angry@example.com", "--reason", "complained")
    times: dict[str, list[float]] = {"new": [], "active": [], "unsubscribed": [], "complained": []}
    with httpx.Client(base_url=base) as client:
        for i in range(20):
            for kind, address in (
                ("new", f"new{i}@example.com"),
                ("active", "active@example.com"),
                ("unsubscribed", "left@example.com"),
                ("complained", "angry@example.com"),
            ):
                # A client address of its own per request, so the per-IP limit stays out of it.
                headers = {"X-Forwarded-For": f"192.0.2.{len(times[kind]) + 1}"}
                start = time.perf_counter()
                answer = client.post("/signup", data={"email": address}, headers=headers)
                times[kind].append(time.perf_counter() - start)
                assert answer.status_code == 200 and "Check your inbox" in answer.text
    medians = {kind: statistics.median(values) * 1000 for kind, values in times.items()}
    spread = max(medians.values()) - min(medians.values())
    print(f"median answer times (ms): {medians}; spread {spread:.1f} ms")
    assert spread < 15, medians
    assert max(medians.values()) < SLOW_PROVIDER * 1000 / 3, "no request waited on the provider"
    settle(fake, 20 * SLOW_PROVIDER + 3)
    sent = fake.counts()
    assert sent["angry@example.com"] == 0, "no confirmation to a complained address"
    assert sent["active@example.com"] == 0
    assert sent["left@example.com"] == 1, "one per 10 minutes, however often they ask"
    assert sum(sent[f"new{i}@example.com"] for i in range(20)) == 20


@pytest.mark.slow
def test_twelve_signups_of_one_address_from_twelve_clients_send_one_confirmation(
    server: tuple[Project, str, PostmarkFake],
) -> None:
    project, base, fake = server
    with httpx.Client(base_url=base) as client:
        answers = [
            client.post(
                "/signup",
                data={"email": "victim@example.com"},
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
            ).status_code
            for i in range(1, 13)
        ]
        assert answers == [200] * 12
        same_client = [
            client.post(
                "/signup",
                data={"email": f"spray{i}@example.com"},
                headers={"X-Forwarded-For": "203.0.113.9"},
            ).status_code
            for i in range(7)
        ]
    assert same_client == [200] * 5 + [429, 429]
    settle(fake)
    assert fake.counts()["victim@example.com"] == 1
    queued = [r for r in project.rows("outgoing_mail") if r["kind"] == "confirm"]
    assert len(queued) == 6  # the victim once, and the five sprays the per-IP limit let through
