"""Editions in the dashboard: the table, one edition's report (counts, timing, what it caused,
the rows in trouble, paged), resending in-doubt rows; the kept counts behind them; /metrics."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select, text

from newsletter import db, reports
from newsletter.models import Edition
from tests.conftest import Project, queue_and_subscribe, tip_text
from tests.dashboard import OPERATOR, dashboard, make_admin


def send(project: Project, week: str, title: str) -> None:
    slug = title.lower().replace(" ", "-")
    project.write(f"tips/{slug}.md", tip_text(title, f"About {title}."))
    assert project.run("tips", "add", f"tips/{slug}.md").exit_code == 0
    result = project.run("send", "--week", week, "--yes")
    assert result.exit_code == 0, result.output


def trouble(project: Project, week: str, failed: int, in_doubt: int) -> None:
    """Mark the first rows of an edition failed, the next ones in doubt (as a crash would)."""
    with project.engine.begin() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT d.id FROM deliveries d JOIN editions e ON e.id = d.edition_id "
                    "WHERE e.week = :w ORDER BY d.id"
                ),
                {"w": week},
            )
        ]
        for i in ids[:failed]:
            conn.execute(
                text(
                    "UPDATE deliveries SET status = 'failed', error = 'mailbox full' WHERE id = :i"
                ),
                {"i": i},
            )
        for i in ids[failed : failed + in_doubt]:
            conn.execute(
                text(
                    "UPDATE deliveries SET status = 'in_doubt', error = 'the answer was lost' "
                    "WHERE id = :i"
                ),
                {"i": i},
            )


def unsubscribe_from(project: Project, week: str, addresses: list[str]) -> None:
    """Unsubscribe people by the link of an edition (the event row names the edition)."""
    from newsletter import subscribers
    from newsletter.suppression import SuppressionList

    factory = db.session_factory(project.engine)
    with db.transaction(factory) as session:
        edition = session.scalars(select(Edition).where(Edition.week == week)).one()
        for address in addresses:
            person = subscribers.get(session, address)
            subscribers.unsubscribe(
                session,
                SuppressionList.from_settings(project.settings),
                person,
                via="one-click",
                edition_id=edition.id,
            )


def test_the_editions_table_and_one_report_with_its_numbers_rates_and_paged_rows(
    project: Project,
) -> None:
    readers = queue_and_subscribe(project, 130, title="First")
    assert project.run("send", "--week", "2026-W40", "--yes").exit_code == 0
    send(project, "2026-W41", "Second")
    trouble(project, "2026-W41", failed=60, in_doubt=12)
    unsubscribe_from(project, "2026-W41", readers[100:104])
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        table = dash.get("/admin/editions").text
        row = re.search(
            r"<tr>\s*<th scope=\"row\"><a href=\"/admin/editions/2026-W41\">.*?</tr>", table, re.S
        )
        assert row is not None
        cells = [
            re.sub(r"<[^>]+>|&nbsp;", " ", c).split()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0))
        ]
        assert cells == [
            ["Second"],
            ["130"],
            ["58"],
            ["60"],
            ["12"],
            ["4", "6.90", "%"],
            ["0", "0.00", "%"],
            ["0", "0.00", "%"],
        ]
        assert "editions 1&ndash;2 of 2" in table
        assert table.count('<figure class="chart"') == 2
        report = dash.get("/admin/editions/2026-W41").text
        assert "rows 1&ndash;50 of 72" in report
        assert "Next &rarr;" in report and "mailbox full" in report
        second = dash.get("/admin/editions/2026-W41?page=2").text
        assert "rows 51&ndash;72 of 72" in second
        assert "the answer was lost" in second
        assert second.count("<td>in doubt</td>") == 12
        assert "events 1&ndash;4 of 4" in report
        assert report.count("one-click") == 4
        assert "Resend in doubt" in report
        assert '<figure class="chart" data-chart="bar" data-unit="%">' in report
        assert dash.get("/admin/editions/2099-W01").status_code == 404
        assert dash.get("/admin/editions/garbage").status_code == 404


def test_resend_in_doubt_says_what_it_risks_and_then_sends_them(project: Project) -> None:
    queue_and_subscribe(project, 10, title="Doubtful")
    assert project.run("send", "--week", "2026-W40", "--yes").exit_code == 0
    trouble(project, "2026-W40", failed=0, in_doubt=3)
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        ask = dash.get("/admin/editions/2026-W40/resend")
        assert "Resend 3 deliveries in doubt?" in ask.text
        assert "those subscribers may get this edition twice" in ask.text
        statuses = [d["status"] for d in project.rows("deliveries")]
        assert statuses.count("in_doubt") == 3, "asking changes nothing"
        started = dash.post("/admin/editions/2026-W40/resend")
        assert "Resending 3 in-doubt deliveries of 2026-W40" in dash.flash(started)
        for _ in range(200):
            sends = [r for r in project.rows("runners") if r["kind"] == "send"]
            if len(sends) == 2 and all(r["ended_at"] for r in sends):
                break
            time.sleep(0.05)
        assert [d["status"] for d in project.rows("deliveries")].count("sent") == 10
        nothing = dash.post("/admin/editions/2026-W40/resend")
        assert "has no deliveries in doubt" in dash.flash(nothing)
    runs = [r for r in project.rows("runners") if r["kind"] == "send"]
    assert len(runs) == 2, "the resend was a send of its own, as `send --resend-in-doubt` is"
    assert all(r["ended_at"] is not None for r in runs)


def test_kept_counts_follow_a_resend_an_erasure_and_the_newest_editions_welcome(
    project: Project,
) -> None:
    readers = queue_and_subscribe(project, 6, title="Old")
    assert project.run("send", "--week", "2026-W40", "--yes").exit_code == 0
    send(project, "2026-W41", "New")
    factory = db.session_factory(project.engine)

    def counts() -> dict[str, dict[str, int]]:
        with db.transaction(factory) as session:
            editions = list(session.scalars(select(Edition)))
            found = reports.counts_many(session, editions)
            return {e.week: found[e.id] for e in editions}

    assert counts()["2026-W40"]["sent"] == 6
    assert [r["edition_id"] for r in project.rows("edition_stats")] != []
    trouble(project, "2026-W40", failed=0, in_doubt=2)
    assert counts()["2026-W40"]["in_doubt"] == 2, "a change of a rare status is seen"
    assert project.run("send", "--week", "2026-W40", "--resend-in-doubt").exit_code == 0
    assert counts()["2026-W40"]["sent"] == 6
    assert project.run("subscribers", "remove", readers[0], "--erase").exit_code == 0
    assert counts()["2026-W40"]["sent"] == 5, "an erasure drops the kept counts"
    assert project.run("subscribers", "add", "late.comer@example.com").exit_code == 0
    with project.engine.begin() as conn:  # a welcome: a new row of the newest edition, sent
        conn.execute(
            text(
                "INSERT INTO deliveries (edition_id, subscriber_id, status, attempts) "
                "SELECT e.id, s.id, 'sent', 1 FROM editions e, subscribers s "
                "WHERE e.week = '2026-W41' AND s.email = :a"
            ),
            {"a": "late.comer@example.com"},
        )
    assert counts()["2026-W41"]["sent"] == 6, "the newest edition is always counted"


def test_a_bounce_reported_by_webhook_counts_against_the_edition_it_answers(
    project: Project,
) -> None:
    from newsletter import events
    from newsletter.suppression import SuppressionList
    from newsletter.webhooks import Event

    readers = queue_and_subscribe(project, 3, title="Bouncy")
    assert project.run("send", "--week", "2026-W40", "--yes").exit_code == 0
    send(project, "2026-W41", "Later")
    with project.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE deliveries SET provider_message_id = 'msg-1' WHERE subscriber_id = "
                "(SELECT id FROM subscribers WHERE email = :a) AND edition_id = "
                "(SELECT id FROM editions WHERE week = '2026-W40')"
            ),
            {"a": readers[1]},
        )
    factory = db.session_factory(project.engine)
    with db.transaction(factory) as session:
        events.record(
            session,
            SuppressionList.from_settings(project.settings),
            "postmark",
            [
                Event("e1", "bounced", readers[1], "msg-1"),
                Event("e2", "complained", readers[2], None),
            ],
        )
    weeks = {e["id"]: e["week"] for e in project.rows("editions")}
    caused = {
        (weeks[e["edition_id"]], e["kind"])
        for e in project.rows("subscriber_events")
        if e["kind"] in ("bounced", "complained")
    }
    assert caused == {("2026-W40", "bounced"), ("2026-W41", "complained")}


# ---- /metrics ---------------------------------------------------------------------------------


def test_metrics_are_off_without_a_token(project: Project) -> None:
    with dashboard(project) as dash:
        assert dash.client.get("/metrics").status_code == 404


def test_metrics_need_the_bearer_token_and_say_what_the_database_holds(
    project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    token = "metrics-token-0123456789"
    project.env["NEWSLETTER_WEB_METRICS_TOKEN"] = token
    queue_and_subscribe(project, 4, title="Counted")
    assert project.run("send", "--week", "2026-W40", "--yes").exit_code == 0
    trouble(project, "2026-W40", failed=1, in_doubt=0)
    with dashboard(project) as dash:
        assert dash.client.get("/metrics").status_code == 401
        wrong = dash.client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == "Bearer"
        answer = dash.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    body = answer.text
    for line in (
        'newsletter_deliveries{status="sent"} 3.0',
        'newsletter_deliveries{status="failed"} 1.0',
        'newsletter_editions{status="sent"} 1.0',
        "newsletter_queue_length 0.0",
        'newsletter_subscribers{status="active"} 4.0',
        "newsletter_runner_up 0.0",
        "newsletter_signup_confirmations_total 0.0",
        'newsletter_confirmation_emails{status="queued"} 0.0',
    ):
        assert line in body.splitlines(), line
    assert "newsletter_last_edition_timestamp_seconds" in body
    assert token not in caplog.text
    assert token not in repr(project.settings)


def test_the_admin_via_is_on_every_event_the_dashboard_writes(project: Project) -> None:
    queue_and_subscribe(project, 1)
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        dash.get("/admin/subscribers")
        dash.post("/admin/subscribers/add", {"email": "zed@example.com", "first_name": "Zed"})
    (event,) = [e for e in project.rows("subscriber_events") if e["kind"] == "subscribed"]
    assert event["via"] == f"admin:{OPERATOR}"
    (person,) = [s for s in project.rows("subscribers") if s["email"] == "zed@example.com"]
    assert person["source"] == f"admin:{OPERATOR}"


def test_a_resend_from_the_dashboard_that_fails_tells_a_person(project: Project) -> None:
    from newsletter.web.admin.jobs import Jobs
    from newsletter.weeks import IsoWeek

    queue_and_subscribe(project, 4, title="Doubtful")
    assert project.run("send", "--week", "2026-W40", "--yes").exit_code == 0
    trouble(project, "2026-W40", failed=0, in_doubt=2)
    project.provider(name="ses", region="eu-west-1")  # no credentials in the environment
    jobs = Jobs(project.settings, project.engine)
    assert jobs.resend_in_doubt(IsoWeek.parse("2026-W40"), OPERATOR)
    for _ in range(600):
        if not jobs.running("2026-W40"):
            break
        time.sleep(0.05)
    jobs.close(timeout=60)
    alerts = project.rows("alerts")
    assert [a["kind"] for a in alerts] == ["unfinished"], "nobody watches the thread: say it"
    assert alerts[0]["subject"] == "Edition 2026-W40 is unfinished"
    assert "no AWS credentials found" in alerts[0]["body"]
    assert "newsletter send --week 2026-W40" in alerts[0]["body"], "the runner will not retry it"
    statuses = [d["status"] for d in project.rows("deliveries")]
    assert statuses.count("sent") == 2, "the others stay as they were"
    assert statuses.count("pending") == 2, "what the operator asked to resend waits, not lost"
