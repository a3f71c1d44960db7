"""Each provider adapter against a real local server that speaks the provider's API."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from tests.conftest import TEST_SECRET, Project, queue_and_subscribe, use_fake
from tests.fakes.mailgun import MailgunFake
from tests.fakes.postmark import PostmarkFake
from tests.fakes.resend import ResendFake
from tests.fakes.sendgrid import SendGridFake
from tests.fakes.server import Fake

WEEK = "2026-W48"
FAKES = {
    "postmark": PostmarkFake,
    "sendgrid": SendGridFake,
    "mailgun": MailgunFake,
    "resend": ResendFake,
}


@pytest.fixture(params=sorted(FAKES))
def fake(request: pytest.FixtureRequest) -> Iterator[Fake]:
    server = FAKES[request.param]().start()
    yield server
    server.stop()


def subscribe(project: Project, n: int) -> list[str]:
    return queue_and_subscribe(project, n)


def in_doubt(project: Project) -> set[str]:
    shown = json.loads(project.run("editions", "show", WEEK, "--json").stdout)
    return {p["email"] for p in shown["problems"] if p["status"] == "in_doubt"}


def test_3000_recipients_each_get_exactly_one_message_with_our_headers(
    project: Project, fake: Fake
) -> None:
    addresses = subscribe(project, 3000)
    use_fake(project, fake)
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 0, result.output
    counts = fake.counts()
    assert sorted(counts) == sorted(addresses)
    assert set(counts.values()) == {1}
    by_address = {m.to: m for m in fake.accepted}
    ids = {s["email"]: s["id"] for s in project.rows("subscribers")}
    from newsletter.tokens import UNSUBSCRIBE, Tokens

    tokens = Tokens([TEST_SECRET])
    for address in ("reader0@example.com", "reader1234@example.com", "reader2999@example.com"):
        m = by_address[address]
        url = m.headers["List-Unsubscribe"].strip("<>")
        assert tokens.read(UNSUBSCRIBE, url.rsplit("/", 1)[1]).subscriber_id == ids[address]
        assert m.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert m.headers["List-Id"] == "Customer Service Tip of the Week <tips.example.com>"
        number = address.removeprefix("reader").removesuffix("@example.com")
        assert f"Hi Reader {number}," in m.text
        assert f"Hi Reader {number}," in m.html
        assert url in m.text
        assert url in m.html
        assert m.subject == "Delight Your Customers | Customer Service Tip of the Week"
    assert (
        json.loads(project.run("editions", "show", WEEK, "--json").stdout)["counts"]["sent"] == 3000
    )


def test_a_fault_storm_still_sends_exactly_once(project: Project, fake: Fake) -> None:
    addresses = subscribe(project, 600)
    fake.every = {7: 429, 11: 500}
    use_fake(project, fake, batch_size=20, max_attempts=10)
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 0, result.output
    assert fake.calls > 30
    counts = fake.counts()
    assert sorted(counts) == sorted(addresses)
    assert set(counts.values()) == {1}


def test_the_provider_dying_mid_send_then_coming_back(project: Project, fake: Fake) -> None:
    addresses = subscribe(project, 2000)
    fake.die_after = 1200
    fake.down_for = 0.6
    use_fake(project, fake, batch_size=100, concurrency=2, max_attempts=40)
    first = project.run("send", "--week", WEEK, "--yes")
    doubtful = in_doubt(project)
    if fake.name == "resend":
        assert first.exit_code == 0, first.output
        assert doubtful == set(), "an idempotency key makes the resend safe: nothing in doubt"
    else:
        assert first.exit_code == 3, first.output
        assert "deliveries are in doubt" in first.stderr
        assert 0 < len(doubtful) <= 2 * 100, "only the batches in flight (concurrency x batch size)"
        again = project.run("send", "--week", WEEK, "--yes", "--resend-in-doubt")
        assert again.exit_code == 0, again.output
    counts = fake.counts()
    assert sorted(counts) == sorted(addresses), "everyone got it at least once"
    twice = {address for address, n in counts.items() if n > 1}
    assert twice <= doubtful, "duplicates only among the reported in-doubt rows"
    if fake.name == "resend":
        assert twice == set()


def test_a_bad_key_stops_the_send_and_never_shows_the_key(
    project: Project, fake: Fake, caplog: pytest.LogCaptureFixture
) -> None:
    subscribe(project, 50)
    use_fake(project, fake)
    project.env["NEWSLETTER_API_KEY"] = "wrong-secret-key-987"
    caplog.set_level(logging.DEBUG)
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 4, "the edition is unfinished"
    assert f"stopped: {fake.name}: HTTP 40" in result.stderr
    assert "is unfinished: 50 pending, 0 claimed" in result.stderr
    assert "wrong-secret-key-987" not in result.output + caplog.text
    assert fake.accepted == []
    counts = json.loads(project.run("editions", "show", WEEK, "--json").stdout)["counts"]
    assert counts["pending"] == 50


def test_a_rejected_recipient_fails_alone(project: Project, fake: Fake) -> None:
    if fake.name in ("sendgrid", "mailgun"):
        pytest.skip(
            f"{fake.name} accepts the call whole and reports a dropped address later, by webhook"
        )
    subscribe(project, 10)
    fake.reject = {"reader3@example.com"}
    use_fake(project, fake)
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 3
    assert "1 deliveries failed" in result.stderr
    assert "reader3@example.com" not in fake.counts()
    assert len(fake.counts()) == 9
    people = {s["email"]: s["status"] for s in project.rows("subscribers")}
    expected = (
        "bounced" if fake.name == "postmark" else "active"
    )  # Postmark says the address is inactive
    assert people["reader3@example.com"] == expected


def test_providers_check_makes_an_authenticated_call(project: Project, fake: Fake) -> None:
    use_fake(project, fake)
    ok = project.run("providers", "check")
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith(f"{fake.name}: ")
    project.env["NEWSLETTER_API_KEY"] = "nope-nope-nope"
    bad = project.run("providers", "check")
    assert bad.exit_code == 1
    assert "nope-nope-nope" not in bad.output


def test_a_missing_api_key_is_a_clear_error(project: Project) -> None:
    project.provider(name="postmark")
    result = project.run("providers", "check")
    assert result.exit_code == 1
    assert (
        result.stderr.strip() == "error: NEWSLETTER_API_KEY is not set: postmark needs the API key"
    )


def test_every_adapter_with_reply_to_and_every_optional_setting(
    project: Project, fake: Fake
) -> None:
    addresses = subscribe(project, 30)
    config = project.config.read_text()
    greeting = next(line for line in config.splitlines() if line.startswith("greeting"))
    project.config.write_text(
        config.replace(
            greeting,
            'greeting = "Hi {{ first_name or \'there\' }},"\nreply_to = "editor@example.com"\n'
            'from_name = "Jeff at CSS, Inc."',
        )
    )
    use_fake(project, fake, batch_size=7, concurrency=3, max_attempts=3, lease_seconds=5)
    result = project.run("send", "--week", WEEK, "--yes")
    assert result.exit_code == 0, result.output
    assert sorted(fake.counts()) == sorted(addresses)
    for m in fake.accepted:
        assert m.headers["Reply-To"] == "editor@example.com", "once, as the provider's field"
        assert "tips@example.com" in m.headers["From"]
        assert m.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = m.headers["List-Unsubscribe"].strip("<>")
        assert url in m.text and url.replace("&", "&amp;") in m.html
        number = m.to.removeprefix("reader").removesuffix("@example.com")
        assert f"Hi Reader {number}," not in m.text and "Hi Reader," in m.text


def test_the_fakes_refuse_what_the_services_refuse(fake: Fake) -> None:
    import httpx

    with httpx.Client(base_url=fake.url, timeout=5) as client:
        chunked = client.post(
            "/anything", content=iter([b"[", b"]"]), headers={"Authorization": "Bearer x"}
        )
    assert chunked.status_code == 411, "a body without a length is refused"


def test_sendgrid_refuses_reply_to_as_a_header() -> None:
    import httpx

    fake = SendGridFake().start()
    try:
        body = {
            "from": {"email": "tips@example.com"},
            "subject": "s",
            "content": [{"type": "text/plain", "value": "t"}],
            "personalizations": [
                {"to": [{"email": "a@example.com"}], "headers": {"Reply-To": "x@example.com"}}
            ],
        }
        answer = httpx.post(
            f"{fake.url}/v3/mail/send",
            json=body,
            headers={"Authorization": f"Bearer {fake.api_key}"},
            timeout=5,
        )
    finally:
        fake.stop()
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "personalizations.0.headers"


def test_resend_is_never_sent_faster_than_its_rate_limit(project: Project) -> None:
    fake = ResendFake().start()
    fake.rate_limit = 4.0  # requests a second
    try:
        addresses = subscribe(project, 900)
        use_fake(project, fake, batch_size=100, concurrency=4, rate_limit=400)
        result = project.run("send", "--week", WEEK, "--yes")
    finally:
        fake.stop()
    assert result.exit_code == 0, result.output
    assert fake.rate_limited == 0, "the token bucket kept under the provider's limit"
    assert sorted(fake.counts()) == sorted(addresses)
