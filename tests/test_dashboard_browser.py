"""The dashboard in a real browser (headless Debian chromium) against a real `newsletter serve`
over a seeded database (3,000 subscribers, a dozen editions): every page at 1280 and 375 px,
the things an operator does, and the refusals. NEWSLETTER_DOCS_SCREENSHOTS=docs/ refreshes
the README's pictures."""

from __future__ import annotations

import re
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import text

from newsletter.models import utcnow
from newsletter.web.admin.sessions import Codec, Visit
from tests.browser import chromium
from tests.conftest import TEST_SECRET, Project
from tests.dashboard import OPERATOR, PASSWORD, make_admin
from tests.seeding import seed
from tests.test_web_browser import DOCS, served

__all__ = ["served"]  # the fixture


def shoot(page: Any, tmp_path: Path, name: str, width: int) -> None:
    """A full-page screenshot; into docs/ when asked; the page never scrolls sideways."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} at {width}"
    path = tmp_path / f"admin-{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000
    if DOCS:
        shutil.copy(path, Path(DOCS) / path.name)


def nav(page: Any, name: str) -> None:
    """Follow a link of the dashboard's menu."""
    page.locator("nav.admin-nav").get_by_role("link", name=name, exact=True).click()


def titles(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("ol.calendar li[data-id] .what a").all_inner_texts()]


@pytest.mark.slow
def test_an_operator_runs_the_newsletter_from_the_browser(
    served: tuple[Project, str], tmp_path: Path
) -> None:
    project, base = served
    seeded = seed(project.engine, subscribers=3000, editions=12, now=utcnow())
    make_admin(project)
    with project.engine.connect() as conn:
        someone = conn.execute(
            text("SELECT email FROM subscribers WHERE status = 'active' ORDER BY id LIMIT 1")
        ).scalar_one()
    csv = tmp_path / "members.csv"
    csv.write_text(
        "Email Address,First Name\nnew.reader@example.com,New\nnot-an-address,Bad\n",
        encoding="utf-8",
    )
    shots: dict[str, str] = {}
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        page = context.new_page()
        errors: list[str] = []
        page.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and "Failed to load resource" not in m.text
                else None
            ),
        )
        failed: list[tuple[int, str]] = []
        page.on(
            "response",
            lambda r: (
                failed.append((r.status, r.url.removeprefix(base))) if r.status >= 400 else None
            ),
        )

        # A direct address without a session: the login page, and no data.
        page.goto(f"{base}/admin/editions")
        assert "/admin/login?next=" in page.url
        assert page.get_by_role("heading", name="Log in to the dashboard").is_visible()
        assert seeded.weeks[-1] not in page.content()
        shoot(page, tmp_path, "login", 1280)
        shots["login"] = "/admin/login"
        page.get_by_label("Email address").fill(OPERATOR)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        assert page.get_by_role("alert").inner_text() == "Wrong email address or password."
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/admin/editions")

        nav(page, "Overview")
        page.get_by_role("heading", name="The week at a glance").wait_for()
        assert page.locator("#next-send").is_visible()
        assert "Listen First" in page.locator("section[aria-labelledby=next-send]").inner_text()
        assert "Needs a look" in page.content(), "the seeded in-doubt rows are reported"
        shoot(page, tmp_path, "overview", 1280)
        shots["overview"] = "/admin/"

        # The queue: drag the third tip to the top, then move the first a week later.
        nav(page, "Queue")
        before = titles(page)
        assert not page.locator("form#reorder").is_visible(), "the drag's own form is hidden"
        assert before[:3] == ["Listen First", "The Angry Caller", "Own the Mistake"]
        rows = page.locator("ol.calendar li[data-id]")
        rows.nth(2).drag_to(rows.nth(0))
        page.wait_for_load_state()
        page.get_by_text("The queue is in its new order.").wait_for()
        assert titles(page)[:3] == ["Own the Mistake", "Listen First", "The Angry Caller"]
        page.get_by_role("button", name="Move “Own the Mistake” a week later").click()
        page.get_by_text("Moved “Own the Mistake” later.").wait_for()
        assert titles(page)[:2] == ["Listen First", "Own the Mistake"]
        shoot(page, tmp_path, "queue", 1280)
        shots["queue"] = "/admin/queue"

        # A new tip, previewed live at both widths as it will go out.
        page.get_by_role("link", name="Add a tip").click()
        page.get_by_label("Title", exact=True).fill("Thank Them Twice")
        page.get_by_label("The tip, in Markdown").fill(
            "Say thank you at the start **and** at the end."
        )
        for frame_id, width in (("#preview-600", 600), ("#preview-375", 375)):
            frame = page.frame_locator(frame_id)
            frame.get_by_role("paragraph").filter(has_text="Say thank you at the start").wait_for(
                timeout=15_000
            )
            assert frame.get_by_text("Thank Them Twice").first.is_visible()
            assert page.locator(frame_id).bounding_box()["width"] == width
            page.locator(frame_id).scroll_into_view_if_needed()  # painted for the picture
        shoot(page, tmp_path, "new-tip", 1280)
        page.get_by_role("button", name="Add to the queue").click()
        page.get_by_text("Queued “Thank Them Twice”.").wait_for()

        # Editions, and one report with its chart.
        nav(page, "Editions")
        page.locator("figure.chart canvas").first.wait_for()
        shoot(page, tmp_path, "editions", 1280)
        shots["editions"] = "/admin/editions"
        page.locator("table.editions tbody tr").first.locator("a").click()
        page.get_by_role("heading", name="Deliveries").wait_for()
        assert page.locator("figure.chart canvas").count() == 2
        chart_rows = page.locator("figure.chart").first.locator("tbody tr")
        assert chart_rows.count() == 12
        assert re.search(
            r"rows 1–\d+ of \d+",
            page.locator(
                "#problems ~ nav, section[aria-labelledby=problems] nav"
            ).first.inner_text(),
        )
        shoot(page, tmp_path, "edition", 1280)
        shots["edition"] = page.url.removeprefix(base)

        # Find a subscriber, unsubscribe them, see the event.
        nav(page, "Subscribers")
        page.get_by_label("Address or name").fill(someone)
        page.get_by_role("button", name="Search").click()
        shoot(page, tmp_path, "subscribers", 1280)
        shots["subscribers"] = page.url.removeprefix(base)
        page.get_by_role("link", name=someone).click()
        page.get_by_role("button", name="Unsubscribe").click()
        page.get_by_text(f"Unsubscribed {someone}.").wait_for()
        events = page.locator("section[aria-labelledby=events] tbody").inner_text()
        assert "unsubscribed" in events and f"admin:{OPERATOR}" in events
        shoot(page, tmp_path, "subscriber", 1280)
        shots["subscriber"] = page.url.removeprefix(base)

        # Import a CSV through its preview.
        nav(page, "Subscribers")
        page.get_by_role("link", name="Import a CSV").click()
        page.get_by_label("The file").set_input_files(str(csv))
        page.get_by_role("button", name="Show what it would do").click()
        page.get_by_role("heading", name="members.csv: what the import would do").wait_for()
        assert "line 3: 'not-an-address' is not a valid email address" in page.content().replace(
            "&#39;", "'"
        )
        shoot(page, tmp_path, "import", 1280)
        page.get_by_role("button", name="Import 1 subscriber", exact=True).click()
        page.get_by_text("Imported 1 of 2 rows").wait_for()

        nav(page, "Growth")
        page.locator("figure.chart canvas").nth(1).wait_for()
        shoot(page, tmp_path, "growth", 1280)
        shots["growth"] = "/admin/growth"

        # A form without its token, or with a wrong one: refused, nothing added.
        for token in (None, "not-the-token"):
            page.goto(f"{base}/admin/subscribers")
            page.evaluate(
                "t => { const i = document.querySelector('form[action=\"/admin/subscribers/add\"] input[name=csrf]');"
                " if (t === null) { i.remove(); } else { i.value = t; } }",
                token,
            )
            page.locator("#add-email").fill("forged@example.com")
            page.get_by_role("button", name="Add", exact=True).click()
            page.get_by_role("heading", name="This form has expired").wait_for()
        assert "forged@example.com" not in [r["email"] for r in project.rows("subscribers")]

        # Every page at 375 px, logged in as before.
        phone = browser.new_context(
            viewport={"width": 375, "height": 800}, storage_state=context.storage_state()
        )  # type: ignore[attr-defined]
        small = phone.new_page()
        for name, path in shots.items():
            small.goto(base + path)
            shoot(small, tmp_path, name, 375)
        for name, path in (
            ("new-tip", "/admin/queue/new"),
            ("import", "/admin/subscribers/import"),
        ):
            small.goto(base + path)
            shoot(small, tmp_path, name, 375)
        phone.close()
        assert errors == [], "no script error on any page"
        assert failed == [
            (401, "/admin/login"),  # the wrong password
            (403, "/admin/subscribers/add"),  # the forms without their token
            (403, "/admin/subscribers/add"),
        ], failed

        # A session idle for 13 hours has ended.
        with project.engine.connect() as conn:
            user_id, key = conn.execute(text("SELECT id, session_key FROM admin_users")).one()
        with time_machine.travel(utcnow() - timedelta(hours=13)):
            stale = Codec([TEST_SECRET], secure=False)
            value = stale._serializer.dumps(
                {"c": "x" * 32, "u": user_id, "k": key, "l": int(time.time())}
            )
        later = browser.new_context()  # type: ignore[attr-defined]
        later.add_cookies(
            [{"name": "newsletter_admin", "value": str(value), "url": f"{base}/admin/"}]
        )
        again = later.new_page()
        again.goto(f"{base}/admin/subscribers")
        assert "/admin/login" in again.url
        assert (
            again.get_by_role("alert").inner_text()
            == "Your session has ended: please log in again."
        )
        assert Visit  # (the cookie above is what the app itself writes)
        later.close()
        context.close()
