"""SES v2 against moto's server (SigV4-signed calls), SMTP against a real aiosmtpd server."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project, free_port, queue_and_subscribe, wait_for

WEEK = "2026-W48"
AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def subscribe(project: Project, n: int) -> list[str]:
    return queue_and_subscribe(project, n)


def parse(raw: bytes | str) -> EmailMessage:
    data = raw.encode() if isinstance(raw, str) else raw
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


@pytest.fixture
def moto() -> Iterator[str]:
    executable = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    if executable is None:
        pytest.skip("moto[server] is not installed (pip install -e '.[test]')")
    port = free_port()
    proc = subprocess.Popen(
        [executable, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/moto-api/data.json")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_ses_sends_each_message_signed_once_with_our_headers(
    project: Project, moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    for k, v in AWS.items():
        monkeypatch.setenv(k, v)
    boto3.client("sesv2", region_name="us-east-1", endpoint_url=moto).create_email_identity(
        EmailIdentity="tips@example.com"
    )
    addresses = subscribe(project, 120)
    project.provider(name="ses", api_base=moto, region="us-east-1", rate_limit=100_000)
    check = project.run("providers", "check")
    assert check.exit_code == 0, check.output
    assert "tips@example.com" in check.stdout
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 0, result.output
    data = json.load(urllib.request.urlopen(f"{moto}/moto-api/data.json"))  # noqa: S310 (loopback)
    sent = [parse(m["raw_data"]) for m in data["ses"]["RawMessage"]]
    counts = Counter(str(m["To"].addresses[0].addr_spec) for m in sent)
    assert sorted(counts) == sorted(addresses)
    assert set(counts.values()) == {1}
    first = sent[0]
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(first["List-Unsubscribe"]).strip().startswith("<https://tips.example.com/u/")
    assert first.get_body(("html",)) is not None
    assert first.get_body(("plain",)) is not None


def test_ses_without_credentials_is_a_clear_error(
    project: Project, moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k in AWS:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(project.dir / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(project.dir / "none"))
    project.provider(name="ses", api_base=moto, region="us-east-1")
    result = project.run("providers", "check")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ses: ")
    assert "Traceback" not in result.output


class Recorder:
    """An aiosmtpd handler that keeps every message and refuses chosen recipients."""

    def __init__(self, refuse: set[str]) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = refuse

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(parse(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Recorder]]:
    from aiosmtpd.controller import Controller

    recorder = Recorder({"reader7@example.com"})
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, recorder
    finally:
        controller.stop()


def test_smtp_sends_over_one_connection_per_thread_and_fails_refused_recipients_alone(
    project: Project, smtp_server: tuple[int, Recorder]
) -> None:
    port, recorder = smtp_server
    addresses = subscribe(project, 60)
    project.provider(name="smtp", api_base=f"smtp://127.0.0.1:{port}", concurrency=2)
    assert project.run("providers", "check").exit_code == 0
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 3, result.output
    counts = Counter(str(m["To"].addresses[0].addr_spec) for m in recorder.messages)
    assert sorted(counts) == sorted(a for a in addresses if a != "reader7@example.com")
    assert set(counts.values()) == {1}
    assert recorder.messages[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    people = {s["email"]: s["status"] for s in project.rows("subscribers")}
    assert people["reader7@example.com"] == "bounced"


def test_smtp_unreachable_server_leaves_everything_pending(project: Project) -> None:
    subscribe(project, 5)
    project.provider(
        name="smtp",
        api_base=f"smtp://127.0.0.1:{free_port()}",
        max_attempts=2,
        retry_cap_seconds=0.01,
    )
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 4, "unfinished"
    assert "stopped: smtp: cannot connect to 127.0.0.1" in result.stderr
    counts = json.loads(project.run("editions", "show", WEEK, "--json").stdout)["counts"]
    assert counts["pending"] == 5
