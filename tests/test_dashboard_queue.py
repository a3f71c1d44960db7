"""The overview and the queue in the dashboard: the calendar, moving, pinning, skipping,
removing, adding a tip with its preview, and a test send to the operator."""

from __future__ import annotations

import email
import email.policy
import io
import json
import re

import time_machine

from tests.conftest import Project, queue_and_subscribe, tip_text
from tests.dashboard import OPERATOR, dashboard, make_admin
from tests.test_calendar import queue

# Monday 2026-11-23, 14:00 UTC: this week's slot (Tue Nov 24, 09:00 New York) is ahead.
NOW = "2026-11-23 14:00:00+00:00"


def planned(project: Project) -> list[tuple[str, str]]:
    """(slug, planned date) of the queue, as `tips list --json` says."""
    tips = json.loads(project.run("tips", "list", "--json").stdout)
    return [(t["slug"], t["planned_at"][:10]) for t in tips]


def calendar_titles(page: str) -> list[str]:
    """The tips in the order the queue page shows them."""
    return re.findall(r'<div class="what"><a href="/admin/queue/[^"]+">([^<]+)</a>', page)


@time_machine.travel(NOW, tick=False)
def test_the_overview_shows_the_next_send_the_runway_the_checks_and_the_last_editions(
    project: Project,
) -> None:
    queue_and_subscribe(project, 3, title="Already Out")
    assert project.run("send", "--week", "2026-W47", "--yes").exit_code == 0
    queue(project, "Next Up", "After That")
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        page = dash.get("/admin/").text
    assert "Tue Nov 24, 2026 09:00" in page
    assert "America/New_York" in page
    assert '<a href="/admin/queue/next-up">Next Up</a>' in page
    assert "2 weeks" in page and "Short:" in page
    assert "the first week with nothing to send is Tue Dec 8, 2026" in page
    assert "no `newsletter run` has ever run against this database" in page
    assert "Already Out" in page
    assert "3 active" in page


@time_machine.travel(NOW, tick=False)
def test_moving_a_tip_later_and_earlier_changes_the_calendar(project: Project) -> None:
    queue(project, "One", "Two", "Three")
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        assert calendar_titles(dash.get("/admin/queue").text) == ["One", "Two", "Three"]
        moved = dash.post("/admin/queue/one/move", {"direction": "down"})
        assert dash.flash(moved) == "Moved “One” later."
        assert calendar_titles(moved.text) == ["Two", "One", "Three"]
        assert planned(project) == [
            ("two", "2026-11-24"),
            ("one", "2026-12-01"),
            ("three", "2026-12-08"),
        ]
        dash.post("/admin/queue/three/move", {"direction": "up"})
        assert planned(project)[1:] == [("three", "2026-12-01"), ("one", "2026-12-08")]
        first = dash.post("/admin/queue/two/move", {"direction": "up"})
        assert dash.flash(first) == "Tip &#39;two&#39; is already the first to go."


@time_machine.travel(NOW, tick=False)
def test_a_pinned_tip_keeps_its_week_when_others_move_past_it(project: Project) -> None:
    queue(project, "One", "Two", "Holiday")
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        pinned = dash.post("/admin/queue/holiday/pin", {"on": "2026-12-01"})
        assert dash.flash(pinned) == "Pinned “Holiday” to the week of Tue Dec 1, 2026."
        assert calendar_titles(pinned.text) == ["One", "Holiday", "Two"]
        dash.post("/admin/queue/one/move", {"direction": "down"})
        assert planned(project) == [
            ("two", "2026-11-24"),
            ("holiday", "2026-12-01"),
            ("one", "2026-12-08"),
        ]
        past = dash.post("/admin/queue/one/pin", {"on": "2026-11-01"})
        assert "is in the past" in dash.flash(past)
        unpinned = dash.post("/admin/queue/holiday/unpin")
        assert dash.flash(unpinned) == "Unpinned “Holiday”."


@time_machine.travel(NOW, tick=False)
def test_the_dragged_order_is_posted_and_becomes_the_queue(project: Project) -> None:
    queue(project, "One", "Two", "Three")
    make_admin(project)
    ids = {t["slug"]: t["id"] for t in json.loads(project.run("tips", "list", "--json").stdout)}
    with dashboard(project) as dash:
        dash.login()
        page = dash.get("/admin/queue").text
        assert f'data-id="{ids["one"]}" draggable="true"' in page
        done = dash.post(
            "/admin/queue/reorder", {"order": f"{ids['three']},{ids['one']},{ids['two']}"}
        )
        assert calendar_titles(done.text) == ["Three", "One", "Two"]
        stale = dash.post("/admin/queue/reorder", {"order": f"{ids['three']},{ids['one']}"})
        assert "must name every queued tip once" in dash.flash(stale)
    assert [slug for slug, _ in planned(project)] == ["three", "one", "two"]


@time_machine.travel(NOW, tick=False)
def test_skip_unskip_and_remove_after_a_confirmation(project: Project) -> None:
    queue(project, "One", "Two")
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        skipped = dash.post("/admin/queue/one/skip")
        assert calendar_titles(skipped.text) == ["Two"]
        assert "Skipped “One”" in dash.flash(skipped)
        back = dash.post("/admin/queue/one/unskip")
        assert calendar_titles(back.text) == ["Two", "One"]
        ask = dash.get("/admin/queue/two/remove")
        assert "Remove “Two”?" in ask.text
        assert [slug for slug, _ in planned(project)] == ["two", "one"], "asking changes nothing"
        gone = dash.post("/admin/queue/two/remove")
        assert dash.flash(gone) == "Removed “Two”."
    assert [slug for slug, _ in planned(project)] == ["one"]


@time_machine.travel(NOW, tick=False)
def test_a_new_tip_is_previewed_exactly_as_newsletter_preview_renders_it_then_queued(
    project: Project,
) -> None:
    queue(project, "One")
    make_admin(project)
    fields = {
        "title": "Speak Their Language",
        "body": "Mirror the words your customer uses.\n\n- **Listen** first",
        "takeaway": "Use their words.",
        "categories": "empathy, phone skills",
        "slug": "",
    }
    with dashboard(project) as dash:
        dash.login()
        shown = dash.post("/admin/queue/new", {**fields, "do": "preview"})
        assert shown.status_code == 200
        (frame,) = set(re.findall(r'src="(/admin/preview/draft/[^"]+)"', shown.text))
        assert len(re.findall(re.escape(frame), shown.text)) == 2, "600 px and 375 px"
        draft_html = dash.get(frame)
        assert "frame-ancestors 'self'" in draft_html.headers["content-security-policy"]
        assert "sandbox" in draft_html.headers["content-security-policy"]
        assert [slug for slug, _ in planned(project)] == ["one"], "a preview adds nothing"
        live = dash.post("/admin/queue/preview", fields).json()
        assert live["ok"] is True and live["src"].startswith("/admin/preview/draft/")
        added = dash.post("/admin/queue/new", {**fields, "do": "add"})
        assert dash.flash(added) == "Queued “Speak Their Language”. It goes out Tue Dec 1, 2026."
        stored = dash.get("/admin/preview/tip/speak-their-language").text
    cli = project.run("preview", "speak-their-language")
    assert cli.exit_code == 0
    assert stored == cli.stdout
    assert draft_html.text == cli.stdout, "the draft's preview is the email that goes out"
    (tip,) = [
        t
        for t in json.loads(project.run("tips", "list", "--json").stdout)
        if t["slug"] == "speak-their-language"
    ]
    assert tip["categories"] == ["empathy", "phone skills"]
    assert tip["takeaway"] == "Use their words."
    assert tip["source_path"] == ""


@time_machine.travel(NOW, tick=False)
def test_a_tip_the_parser_refuses_is_shown_back_with_its_reason_and_nothing_is_added(
    project: Project,
) -> None:
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        no_title = dash.post("/admin/queue/new", {"title": "", "body": "Text.", "do": "add"})
        assert no_title.status_code == 400
        assert "the form: front matter needs a &#39;title&#39;" in no_title.text
        bad = dash.client.post(
            "/admin/queue/new",
            data={"csrf": dash.csrf, "do": "add"},
            files={
                "file": (
                    "empathy.md",
                    io.BytesIO(b"---\ntitel: Oops\n---\nBody\n"),
                    "text/markdown",
                )
            },
        )
        assert bad.status_code == 400
        assert (
            "empathy.md: front matter has unknown key &#39;titel&#39; (did you mean &#39;title&#39;?)"
            in bad.text
        )
        live = dash.post("/admin/queue/preview", {"title": "x", "body": ""}).json()
        assert live == {
            "ok": False,
            "error": "the form: the tip has no body below the front matter",
        }
    assert project.rows("tips") == []


@time_machine.travel(NOW, tick=False)
def test_an_uploaded_tip_file_is_queued(project: Project) -> None:
    make_admin(project)
    text = tip_text("From A File", "Uploaded body.", takeaway="Files work.")
    with dashboard(project) as dash:
        dash.login()
        dash.get("/admin/queue/new")
        added = dash.client.post(
            "/admin/queue/new",
            data={"csrf": dash.csrf, "do": "add", "title": "", "body": ""},
            files={"file": ("from-a-file.md", io.BytesIO(text.encode()), "text/markdown")},
        )
        assert "Queued “From A File”. It goes out Tue Nov 24, 2026." in added.text
    assert planned(project) == [("from-a-file", "2026-11-24")]


@time_machine.travel(NOW, tick=False)
def test_a_test_send_goes_to_the_logged_in_operator_only(project: Project) -> None:
    queue_and_subscribe(project, 2, title="Test Me")
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        page = dash.get("/admin/queue/test-me")
        assert 'title="The email at 600 pixels wide"' in page.text
        sent = dash.post("/admin/queue/test-me/test")
        assert dash.flash(sent).startswith(f"Sent a [TEST] copy of “Test Me” to {OPERATOR}")
    files = list((project.dir / "outbox").rglob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == OPERATOR
    assert str(message["Subject"]).startswith("[TEST] Test Me")
    assert project.rows("editions") == [] and project.rows("deliveries") == []


@time_machine.travel(NOW, tick=False)
def test_an_uploaded_back_issue_goes_to_the_archive_not_the_queue(project: Project) -> None:
    make_admin(project)
    text = tip_text("An Old One", "From the old site.", date="2019-04-09")
    with dashboard(project) as dash:
        dash.login()
        dash.get("/admin/queue/new")
        added = dash.client.post(
            "/admin/queue/new",
            data={"csrf": dash.csrf, "do": "add"},
            files={"file": ("old.md", io.BytesIO(text.encode()), "text/markdown")},
        )
        assert "Archived “An Old One” as a back issue of Tue Apr 9, 2019." in added.text
    (tip,) = project.rows("tips")
    assert (tip["status"], tip["position"]) == ("archived", None)
