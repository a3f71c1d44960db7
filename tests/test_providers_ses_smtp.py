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

import pytest

from tests.conftest import Project, free_port, queue_and_subscribe, wait_for
from tests.fakes.smtp import PASSWORD, USER, Relay, RelayServer

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
    config = project.config.read_text()
    project.config.write_text(
        config.replace("[newsletter]\n", '[newsletter]\nreply_to = "editor@example.com"\n')
    )
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
    assert first.get_all("Reply-To") == ["editor@example.com"]
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


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[tuple[RelayServer, Relay]]:
    seen = Relay(refuse={"reader7@example.com"})
    server = RelayServer(seen, free_port(), tmp_path)
    server.start()
    try:
        yield server, seen
    finally:
        server.stop()


def use_relay(project: Project, server: RelayServer, *, user: bool = True, **keys: object) -> None:
    login = f"{USER}@" if user else ""
    scheme = "smtps" if server.tls == "tls" else "smtp"
    project.provider(
        name="smtp",
        api_base=f"{scheme}://{login}127.0.0.1:{server.port}",
        smtp_ca_file=str(server.cert),
        **keys,
    )
    project.env["NEWSLETTER_API_KEY"] = PASSWORD


def test_smtp_sends_many_messages_per_connection_over_starttls(
    project: Project, relay: tuple[RelayServer, Relay]
) -> None:
    server, seen = relay
    addresses = subscribe(project, 240)
    config = project.config.read_text()
    project.config.write_text(
        config.replace("[newsletter]\n", '[newsletter]\nreply_to = "editor@example.com"\n')
    )
    use_relay(project, server, concurrency=2, rate_limit=100_000)
    check = project.run("providers", "check")
    assert check.exit_code == 0, check.output
    assert "with STARTTLS (TLSv1." in check.stdout and f"logged in as {USER}" in check.stdout
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 3, result.output
    counts = Counter(str(m["To"].addresses[0].addr_spec) for m in seen.messages)
    assert sorted(counts) == sorted(a for a in addresses if a != "reader7@example.com")
    assert set(counts.values()) == {1}
    assert seen.connections <= 3, "one connection per sending thread, reused (and the check's)"
    assert seen.auth_attempts and all(seen.auth_attempts), "AUTH only ever over TLS"
    first = seen.messages[0]
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first["From"] == '"Customer Service Solutions, Inc." <tips@example.com>'
    assert first.get_all("Reply-To") == ["editor@example.com"]
    people = {s["email"]: s["status"] for s in project.rows("subscribers")}
    assert people["reader7@example.com"] == "bounced"


def test_smtp_refuses_a_relay_without_starttls_and_never_sends_the_password(
    project: Project, tmp_path: Path
) -> None:
    seen = Relay()
    server = RelayServer(seen, free_port(), tmp_path, tls="none")
    server.start()
    try:
        subscribe(project, 5)
        use_relay(project, server)
        check = project.run("providers", "check")
        result = project.run("send", "--week", WEEK, "--yes")
    finally:
        server.stop()
    assert check.exit_code == 1
    assert "does not offer STARTTLS and TLS is required" in check.stderr
    assert result.exit_code == 4
    assert "does not offer STARTTLS" in result.stderr
    assert seen.auth_attempts == [], "the password never crossed without TLS"
    assert seen.messages == []
    assert PASSWORD not in check.output + result.output


def test_smtp_over_implicit_tls(project: Project, tmp_path: Path) -> None:
    seen = Relay()
    server = RelayServer(seen, free_port(), tmp_path, tls="tls")
    server.start()
    try:
        addresses = subscribe(project, 20)
        use_relay(project, server)
        check = project.run("providers", "check")
        result = project.run("send", "--week", WEEK, "--yes")
    finally:
        server.stop()
    assert "with TLS (TLSv1." in check.stdout, check.output
    assert result.exit_code == 0, result.output
    assert len(seen.messages) == len(addresses)


@pytest.mark.parametrize(
    ("api_base", "tls", "message"),
    [
        (
            "smtp://relay.example.net:25",
            "none",
            'error: [provider] smtp_tls = "none" is allowed only for a relay on this machine, '
            "not relay.example.net: mail and passwords would cross the network in clear",
        ),
        (
            "smtp://someone@127.0.0.1:25",
            "none",
            'error: [provider] smtp_tls = "none": a login (the user in api_base) needs TLS',
        ),
        (
            "smtp://127.0.0.1:25",
            "maybe",
            "error: [provider] smtp_tls: 'maybe' is not one of starttls, tls, none",
        ),
    ],
)
def test_smtp_tls_settings_that_would_leak_are_refused(
    project: Project, api_base: str, tls: str, message: str
) -> None:
    project.provider(name="smtp", api_base=api_base, smtp_tls=tls)
    result = project.run("providers", "check")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(message), result.stderr


def test_a_connection_lost_during_data_leaves_only_that_message_in_doubt(
    project: Project, relay: tuple[RelayServer, Relay]
) -> None:
    server, seen = relay
    seen.refuse = set()
    seen.drop_at = 30  # the relay takes message 30, then the connection drops
    addresses = subscribe(project, 100)
    use_relay(project, server, concurrency=1, batch_size=100, retry_cap_seconds=0.01)
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 3, result.output
    assert "1 deliveries are in doubt" in result.stderr
    counts = Counter(str(m["To"].addresses[0].addr_spec) for m in seen.messages)
    assert sorted(counts) == sorted(addresses) and set(counts.values()) == {1}
    rows = {r["status"] for r in project.rows("deliveries")}
    assert rows == {"sent", "in_doubt"}
    (doubt,) = json.loads(project.run("editions", "show", WEEK, "--json").stdout)["problems"]
    assert doubt["email"] == addresses[29]


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
