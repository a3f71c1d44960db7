"""The web app through Starlette's test client: every route, and every bad input."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from starlette.testclient import TestClient

from newsletter import db
from newsletter.editions import open_edition
from newsletter.tokens import CONFIRM, UNSUBSCRIBE, Tokens
from newsletter.web import create_app
from newsletter.weeks import IsoWeek
from tests.conftest import TEST_SECRET, Project, tip_text

HOOK_SECRET = "hook-secret-0123456789"


@pytest.fixture
def web(project: Project) -> Iterator[TestClient]:
    project.env["NEWSLETTER_WEBHOOK_SECRET"] = HOOK_SECRET
    app = create_app(project.settings, project.engine, fetch=lambda url: b"", now=None)
    with TestClient(app, base_url="https://tips.example.com") as client:
        yield client


def people(project: Project) -> dict[str, str]:
    return {s["email"]: s["status"] for s in project.rows("subscribers")}


def subscriber_id(project: Project, address: str) -> int:
    return next(int(s["id"]) for s in project.rows("subscribers") if s["email"] == address)


def unsubscribe_path(
    project: Project, address: str, edition: int = 0, key: str = TEST_SECRET
) -> str:
    return f"/u/{Tokens([key]).make(UNSUBSCRIBE, subscriber_id(project, address), edition)}"


# ---- unsubscribe ------------------------------------------------------------------------------


def test_get_shows_a_button_and_changes_nothing(project: Project, web: TestClient) -> None:
    project.run("subscribers", "add", "ann.smith@example.com")
    before = project.snapshot()
    page = web.get(unsubscribe_path(project, "ann.smith@example.com"))
    assert page.status_code == 200
    assert "a********@example.com" in page.text
    assert "ann.smith" not in page.text
    assert '<button type="submit" class="button">Unsubscribe</button>' in page.text
    assert project.snapshot() == before


def test_one_click_post_unsubscribes_at_once_and_is_idempotent(
    project: Project, web: TestClient
) -> None:
    project.run("subscribers", "add", "ann@example.com")
    path = unsubscribe_path(project, "ann@example.com", edition=7)
    first = web.post(path, data={"List-Unsubscribe": "One-Click"}, headers={"Cookie": ""})
    assert first.status_code == 200
    assert "You are unsubscribed" in first.text
    assert people(project)["ann@example.com"] == "unsubscribed"
    (event,) = [e for e in project.rows("subscriber_events") if e["kind"] == "unsubscribed"]
    assert event["via"] == "one-click"
    assert event["edition_id"] is None, "edition 7 does not exist: dropped, not an error"
    again = web.post(path, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    assert "You were already unsubscribed" in again.text
    assert len([e for e in project.rows("subscriber_events") if e["kind"] == "unsubscribed"]) == 1


def test_one_click_as_multipart_and_the_button_post(project: Project, web: TestClient) -> None:
    project.run("subscribers", "add", "ann@example.com")
    project.run("subscribers", "add", "bob@example.com")
    multipart = web.post(
        unsubscribe_path(project, "ann@example.com"),
        files={"List-Unsubscribe": (None, "One-Click")},
    )
    assert multipart.status_code == 200
    button = web.post(unsubscribe_path(project, "bob@example.com"))
    assert button.status_code == 200
    vias = {
        e["subscriber_id"]: e["via"]
        for e in project.rows("subscriber_events")
        if e["kind"] == "unsubscribed"
    }
    assert vias == {
        subscriber_id(project, "ann@example.com"): "one-click",
        subscriber_id(project, "bob@example.com"): "web",
    }


def test_resubscribe_from_the_unsubscribed_page(project: Project, web: TestClient) -> None:
    project.run("subscribers", "add", "ann@example.com")
    page = web.post(unsubscribe_path(project, "ann@example.com"))
    action = page.text.split('action="', 1)[1].split('"', 1)[0]
    assert action.startswith("/r/")
    back = web.post(action)
    assert back.status_code == 200
    assert "Welcome back" in back.text
    assert people(project)["ann@example.com"] == "active"


@pytest.mark.parametrize("token", ["not-a-token", "WzEsMV0.tampered-signature", "WzJd.abc"])
def test_a_bad_or_tampered_token_is_a_400_page_offering_signup(
    project: Project, web: TestClient, token: str
) -> None:
    project.run("subscribers", "add", "ann@example.com")
    before = project.snapshot()
    for response in (web.get(f"/u/{token}"), web.post(f"/u/{token}")):
        assert response.status_code == 400
        assert "This link is not valid" in response.text
        assert 'href="/signup"' in response.text
        assert "Traceback" not in response.text
    assert project.snapshot() == before


def test_tokens_are_purpose_bound(project: Project, web: TestClient) -> None:
    project.run("subscribers", "add", "ann@example.com")
    confirm = Tokens([TEST_SECRET]).make(CONFIRM, subscriber_id(project, "ann@example.com"))
    assert web.post(f"/u/{confirm}").status_code == 400
    assert people(project)["ann@example.com"] == "active"


def test_old_links_work_after_a_key_rotation(project: Project) -> None:
    project.run("subscribers", "add", "ann@example.com")
    old_link = unsubscribe_path(project, "ann@example.com", key="the-old-key-0123456789")
    project.env.update(
        {
            "NEWSLETTER_SECRET_KEY": "the-new-key-9876543210",
            "NEWSLETTER_OLD_SECRET_KEYS": "the-old-key-0123456789",
        }
    )
    with TestClient(create_app(project.settings, project.engine)) as client:
        assert client.post(old_link).status_code == 200
    assert people(project)["ann@example.com"] == "unsubscribed"


# ---- signup and confirm --------------------------------------------------------------------------


def drained(project: Project) -> None:
    """Wait (5 s at most) until the web process's background sender has sent all queued mail."""
    deadline = time.monotonic() + 5
    while any(r["status"] in ("queued", "sending") for r in project.rows("outgoing_mail")):
        assert time.monotonic() < deadline, "the queued mail was not sent"
        time.sleep(0.02)


def confirmations(project: Project) -> list[email.message.EmailMessage]:
    drained(project)
    folder = project.dir / "outbox" / "confirmations"
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]  # type: ignore[misc]


def test_signup_confirm_flow(project: Project, web: TestClient) -> None:
    form = web.get("/signup")
    assert form.status_code == 200
    assert 'name="website"' in form.text
    done = web.post("/signup", data={"email": " New.Reader@Example.com ", "name": "Nia"})
    assert done.status_code == 200
    assert "Check your inbox" in done.text
    assert people(project) == {"new.reader@example.com": "pending"}
    (mail,) = confirmations(project)
    link = next(w for w in mail.get_body(("plain",)).get_content().split() if "/confirm/" in w)
    path = "/" + link.split("/", 3)[3]
    shown = web.get(path)
    assert "Confirm your subscription" in shown.text
    assert people(project)["new.reader@example.com"] == "pending", "GET confirms nothing"
    confirmed = web.post(path)
    assert "You are subscribed" in confirmed.text
    assert people(project)["new.reader@example.com"] == "active"
    assert [e["kind"] for e in project.rows("subscriber_events")] == ["subscribed", "confirmed"]


def test_signup_of_an_active_address_sends_nothing_and_reveals_nothing(
    project: Project, web: TestClient
) -> None:
    project.run("subscribers", "add", "ann@example.com")
    new = web.post("/signup", data={"email": "someone@example.com"})
    active = web.post("/signup", data={"email": "ann@example.com"})
    assert new.text == active.text
    assert [str(m["To"]) for m in confirmations(project)] == ["someone@example.com"]


def test_honeypot_and_rate_limit_stop_bots(project: Project, web: TestClient) -> None:
    bot = web.post("/signup", data={"email": "bot@example.com", "website": "http://spam"})
    assert bot.status_code == 200
    assert "bot@example.com" not in people(project)
    answers = [
        web.post("/signup", data={"email": f"r{i}@example.com"}).status_code for i in range(7)
    ]
    assert answers[:5] == [200] * 5
    assert answers[5:] == [429, 429]
    assert len(confirmations(project)) == 5


def test_a_bad_address_in_the_form_is_shown_again_with_a_message(
    project: Project, web: TestClient
) -> None:
    answer = web.post("/signup", data={"email": "not an address", "name": "X"})
    assert answer.status_code == 400
    assert "That does not look like an email address" in answer.text
    assert 'value="not an address"' in answer.text
    assert people(project) == {}


def test_confirm_links_expire_after_7_days(project: Project, web: TestClient) -> None:
    with time_machine.travel(dt.datetime(2026, 11, 1, tzinfo=dt.UTC), tick=False):
        web.post("/signup", data={"email": "late@example.com"})
        token = Tokens([TEST_SECRET]).make(CONFIRM, subscriber_id(project, "late@example.com"))
    with time_machine.travel(dt.datetime(2026, 11, 9, tzinfo=dt.UTC), tick=False):
        answer = web.post(f"/confirm/{token}")
    assert answer.status_code == 400
    assert "This link has expired" in answer.text
    assert people(project)["late@example.com"] == "pending"


# ---- the archive ---------------------------------------------------------------------------------


def publish(project: Project, count: int, queued: int = 1) -> None:
    for i in range(count + queued):
        category = "empathy" if i % 3 == 0 else "phones"
        project.write(
            f"tips/{i:02d}.md",
            tip_text(
                f"Tip Number {i}", f"Body of tip {i}. " + "word " * 80, categories=f"[{category}]"
            ),
        )
        assert project.run("tips", "add", f"tips/{i:02d}.md").exit_code == 0
    factory = db.session_factory(project.engine)
    for i in range(count):
        week = IsoWeek(2026, 10 + i)
        at = dt.datetime.combine(week.day("tue"), dt.time(14, 0), dt.UTC)
        open_edition(factory, project.settings, week, tip_ref=f"tip-number-{i}", now=at)


def test_archive_lists_sent_tips_newest_first_10_per_page(
    project: Project, web: TestClient
) -> None:
    publish(project, 12)
    first = web.get("/archive")
    assert first.status_code == 200
    titles = [t.split("</a>")[0] for t in first.text.split('<h2><a href="')[1:]]
    assert [t.split('">')[1] for t in titles] == [f"Tip Number {i}" for i in range(11, 1, -1)]
    assert "Tip Number 12" not in first.text, "queued tips never leak"
    assert "Older tips" in first.text
    assert "Read more" in first.text
    assert "- 5/19/26" in first.text, "the day the edition of 2026-W21 went out"
    second = web.get("/archive?page=2")
    assert "Page 2" in second.text
    assert "Tip Number 1<" in second.text and "Tip Number 0<" in second.text
    assert "Newer tips" in second.text
    assert web.get("/archive?page=3").status_code == 404
    assert web.get("/archive?page=x").status_code == 400


def test_excerpts_are_about_50_words(project: Project, web: TestClient) -> None:
    publish(project, 1)
    page = web.get("/archive").text
    excerpt = page.split("<p>", 1)[1].split('<a class="more"', 1)[0]
    assert 45 <= len(excerpt.split()) <= 55


def test_tip_page_category_and_unknown_slugs(project: Project, web: TestClient) -> None:
    publish(project, 4)
    tip = web.get("/archive/tip-number-3")
    assert tip.status_code == 200
    assert "<h1>Tip Number 3</h1>" in tip.text
    assert 'href="/category/empathy"' in tip.text
    category = web.get("/category/empathy")
    assert "Tip Number 3" in category.text and "Tip Number 0" in category.text
    assert "Tip Number 1" not in category.text
    assert web.get("/archive/tip-number-4").status_code == 404, "queued: not public"
    assert web.get("/archive/nope").status_code == 404


def test_feed_is_rss_2_of_the_last_20(project: Project, web: TestClient) -> None:
    import xml.etree.ElementTree as ET

    publish(project, 22)
    feed = web.get("/feed.xml")
    assert feed.headers["content-type"].startswith("application/rss+xml")
    root = ET.fromstring(feed.content)  # noqa: S314 (our own feed)
    assert root.tag == "rss"
    assert root.get("version") == "2.0"
    items = root.findall("channel/item")
    assert len(items) == 20
    assert items[0].findtext("title") == "Tip Number 21"
    assert items[0].findtext("link") == "https://tips.example.com/archive/tip-number-21"
    assert items[0].findtext("pubDate", "").endswith("-0400") or items[0].findtext(
        "pubDate", ""
    ).endswith("-0500")


# ---- health, headers, limits -----------------------------------------------------------------------


def test_healthz_and_security_headers(web: TestClient) -> None:
    ok = web.get("/healthz")
    assert ok.status_code == 200
    for path in ("/healthz", "/archive", "/signup", "/u/bad", "/nowhere"):
        headers = web.get(path).headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_healthz_is_503_when_the_database_is_gone(project: Project, tmp_path: Path) -> None:
    broken = db.make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    with TestClient(create_app(project.settings, broken)) as client:
        answer = client.get("/healthz")
    assert answer.status_code == 503
    assert "Traceback" not in answer.text


def test_a_huge_body_is_refused(web: TestClient) -> None:
    assert (
        web.post(
            "/signup",
            content=b"email=" + b"a" * 100_000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        ).status_code
        == 413
    )


def test_a_queued_confirmation_survives_a_restart(project: Project) -> None:
    app = create_app(project.settings, project.engine)
    down = TestClient(app, base_url="https://tips.example.com")  # no lifespan: no sender runs
    assert down.post("/signup", data={"email": "durable@example.com"}).status_code == 200
    assert [r["status"] for r in project.rows("outgoing_mail")] == ["queued"]
    assert not (project.dir / "outbox" / "confirmations").exists()
    with TestClient(create_app(project.settings, project.engine)):
        assert [str(m["To"]) for m in confirmations(project)] == ["durable@example.com"]
    assert [r["status"] for r in project.rows("outgoing_mail")] == ["sent"]


def test_a_control_character_in_the_form_is_a_clear_error_not_a_500(
    project: Project, web: TestClient
) -> None:
    answer = web.post("/signup", data={"email": "ann@example.com", "name": "Ann\r\nBcc: x"})
    assert answer.status_code == 400
    assert "The first name" in answer.text and "contains a control character" in answer.text
    assert people(project) == {}


def test_the_welcome_is_the_latest_edition_recorded_in_the_ledger(project: Project) -> None:
    project.config.write_text(project.config.read_text() + '\n[signup]\nwelcome = "latest"\n')
    publish(project, 2)
    app = create_app(project.settings, project.engine)
    with TestClient(app, base_url="https://tips.example.com") as client:
        client.post("/signup", data={"email": "new@example.com", "name": "Nia Lee"})
        (mail,) = confirmations(project)
        link = next(w for w in mail.get_body(("plain",)).get_content().split() if "/confirm/" in w)
        assert "You are subscribed" in client.post("/" + link.split("/", 3)[3]).text
        drained(project)
    (delivery,) = project.rows("deliveries")
    latest = max(project.rows("editions"), key=lambda e: e["week"])
    assert (delivery["edition_id"], delivery["status"]) == (latest["id"], "sent")
    (welcome,) = (project.dir / "outbox" / latest["week"]).glob("*.eml")
    message = email.message_from_bytes(welcome.read_bytes(), policy=email.policy.default)
    assert str(message["To"]) == "Nia Lee <new@example.com>"
    assert "Hi Nia Lee," in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
