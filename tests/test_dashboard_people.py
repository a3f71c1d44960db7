"""Subscribers in the dashboard: search, one person's page, changes (with the same event rows
as the CLI, via admin:<address>), import through a dry run, export; the growth page."""

from __future__ import annotations

import datetime as dt
import io
import re

import time_machine
from sqlalchemy import text

from tests.conftest import Project, queue_and_subscribe
from tests.dashboard import OPERATOR, dashboard, make_admin

VIA = f"admin:{OPERATOR}"


def found(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/admin/subscribers/\d+">([^<]+)</a>', page)


def sid(project: Project, address: str) -> int:
    return next(int(s["id"]) for s in project.rows("subscribers") if s["email"] == address)


def test_search_by_address_or_name_with_a_status_filter_paged(project: Project) -> None:
    queue_and_subscribe(project, 120)
    assert (
        project.run("subscribers", "add", "ann.smith@example.org", "--name", "Ann Smith").exit_code
        == 0
    )
    assert project.run("subscribers", "unsubscribe", "reader7@example.com").exit_code == 0
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        first = dash.get("/admin/subscribers")
        assert "subscribers 1&ndash;50 of 121" in first.text
        assert found(first.text)[0] == "ann.smith@example.org", "newest first"
        third = dash.get("/admin/subscribers?q=&status=&page=3")
        assert "subscribers 101&ndash;121 of 121" in third.text
        assert found(dash.get("/admin/subscribers?q=SMITH").text) == ["ann.smith@example.org"]
        assert found(dash.get("/admin/subscribers?q=ann+smi").text) == ["ann.smith@example.org"]
        by_name = dash.get("/admin/subscribers?q=reader+11").text
        assert set(found(by_name)) == {
            "reader11@example.com",
            *(f"reader11{i}@example.com" for i in range(10)),
        }
        assert "subscribers 1&ndash;11 of 11" in by_name
        left = dash.get("/admin/subscribers?q=reader&status=unsubscribed").text
        assert found(left) == ["reader7@example.com"]
        none = dash.get("/admin/subscribers?q=100%25_").text
        assert found(none) == [] and "Nobody’s address or name holds “100%_”" in none


def test_a_subscribers_page_and_unsubscribing_them_there_writes_the_event(project: Project) -> None:
    queue_and_subscribe(project, 2)
    make_admin(project)
    person = sid(project, "reader1@example.com")
    with dashboard(project) as dash:
        dash.login()
        page = dash.get(f"/admin/subscribers/{person}").text
        assert "reader1@example.com" in page and "imported" in page
        done = dash.post(f"/admin/subscribers/{person}/unsubscribe")
        assert dash.flash(done) == "Unsubscribed reader1@example.com."
        assert "<td>unsubscribed</td><td>" + VIA in done.text
        again = dash.post(f"/admin/subscribers/{person}/unsubscribe")
        assert dash.flash(again) == "reader1@example.com was already unsubscribed."
    (event,) = [e for e in project.rows("subscriber_events") if e["kind"] == "unsubscribed"]
    assert event["via"] == VIA
    shown = project.run("subscribers", "show", "reader1@example.com", "--json").stdout
    assert '"reason": "unsubscribed"' in shown, "on the suppression list, as from the CLI"


def test_resubscribing_needs_a_reason_and_the_operator_may_lift_a_bounce(project: Project) -> None:
    queue_and_subscribe(project, 1)
    make_admin(project)
    with project.engine.begin() as conn:
        conn.execute(text("UPDATE subscribers SET status = 'bounced'"))
    person = sid(project, "reader0@example.com")
    with dashboard(project) as dash:
        dash.login()
        dash.get(f"/admin/subscribers/{person}")
        no_reason = dash.post(f"/admin/subscribers/{person}/resubscribe", {"reason": "  "})
        assert "Give a reason" in dash.flash(no_reason)
        done = dash.post(f"/admin/subscribers/{person}/resubscribe", {"reason": "asked by phone"})
        assert dash.flash(done) == "Resubscribed reader0@example.com."
    (event,) = [e for e in project.rows("subscriber_events") if e["kind"] == "resubscribed"]
    assert (event["via"], event["detail"]) == (VIA, "asked by phone")
    assert project.rows("subscribers")[0]["status"] == "active"


def test_adding_someone_on_the_suppression_list_is_refused(project: Project) -> None:
    make_admin(project)
    assert project.run("subscribers", "suppress", "gone@example.com").exit_code == 0
    with dashboard(project) as dash:
        dash.login()
        dash.get("/admin/subscribers")
        refused = dash.post("/admin/subscribers/add", {"email": "Gone@Example.com"})
        assert "is on the suppression list (unsubscribed)" in dash.flash(refused)
        bad = dash.post("/admin/subscribers/add", {"email": "not an address"})
        assert "is not a valid email address" in dash.flash(bad)
    assert project.rows("subscribers") == []


def test_remove_asks_first_and_erase_wipes_the_history(project: Project) -> None:
    queue_and_subscribe(project, 2)
    make_admin(project)
    keep, wipe = sid(project, "reader0@example.com"), sid(project, "reader1@example.com")
    with dashboard(project) as dash:
        dash.login()
        ask = dash.get(f"/admin/subscribers/{keep}/remove")
        assert (
            "Remove reader0@example.com?" in ask.text
            and "Erase (a GDPR erasure request)" in ask.text
        )
        assert len(project.rows("subscribers")) == 2
        removed = dash.post(f"/admin/subscribers/{keep}/remove", {"erase": "no"})
        assert dash.flash(removed) == "Removed reader0@example.com."
        erased = dash.post(f"/admin/subscribers/{wipe}/remove", {"erase": "yes"})
        assert dash.flash(erased) == "Removed reader1@example.com and erased their history."
        assert dash.get(f"/admin/subscribers/{wipe}").status_code == 404
    assert project.rows("subscribers") == []
    log = project.rows("subscriber_events")
    assert [(e["kind"], e["via"], e["detail"]) for e in log if e["kind"] == "removed"] == [
        ("removed", VIA, "reader0@example.com")
    ]
    assert "reader1@example.com" not in str(log)


def test_an_import_shows_the_mapping_and_counts_and_writes_nothing_until_confirmed(
    project: Project,
) -> None:
    queue_and_subscribe(project, 1)
    make_admin(project)
    csv = (
        "Email Address,First Name,Last Name\n"
        "new.one@example.com,New,One\n"
        "reader0@example.com,Reader,Zero\n"
        "not-an-address,Bad,Row\n"
        "new.two@example.com,New,Two\n"
    )
    with dashboard(project) as dash:
        dash.login()
        dash.get("/admin/subscribers/import")
        before = project.snapshot()
        shown = dash.client.post(
            "/admin/subscribers/import",
            data={"csrf": dash.csrf, "map": ""},
            files={"file": ("members.csv", io.BytesIO(csv.encode()), "text/csv")},
        )
        assert shown.status_code == 200
        page = shown.text
        assert "members.csv: what the import would do" in page
        assert '<th scope="row">Email Address</th><td>email</td>' in page
        assert '<th scope="row">added (2 active)</th><td class="n">2</td>' in page
        assert '<th scope="row">already subscribed</th><td class="n">1</td>' in page
        assert "line 4: &#39;not-an-address&#39; is not a valid email address" in page
        assert "Import 2 subscribers" in page
        assert project.snapshot() == before, "the preview writes nothing"
        key = re.search(r'name="key" value="([^"]+)"', page).group(1)
        dash.csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        done = dash.post("/admin/subscribers/import/confirm", {"key": key, "map": ""})
        assert dash.flash(done).startswith("Imported 2 of 4 rows; 1 already subscribed")
        used = dash.post("/admin/subscribers/import/confirm", {"key": key, "map": ""})
        assert "That upload has expired" in dash.flash(used), "the file is gone once imported"
    emails = {s["email"] for s in project.rows("subscribers")}
    assert {"new.one@example.com", "new.two@example.com"} <= emails
    imported = [e for e in project.rows("subscriber_events") if e["kind"] == "imported"]
    assert {e["via"] for e in imported[-2:]} == {VIA}


def test_an_upload_belongs_to_the_account_that_made_it(project: Project) -> None:
    make_admin(project)
    make_admin(project, "bob.operator@example.com")
    with dashboard(project) as dash:
        dash.login()
        dash.get("/admin/subscribers/import")
        page = dash.client.post(
            "/admin/subscribers/import",
            data={"csrf": dash.csrf},
            files={"file": ("a.csv", io.BytesIO(b"email\nx@example.com\n"), "text/csv")},
        ).text
        key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    with dashboard(project) as bob:
        bob.login("bob.operator@example.com")
        bob.get("/admin/subscribers/import")
        taken = bob.post("/admin/subscribers/import/confirm", {"key": key})
        assert "That upload has expired" in bob.flash(taken)
    assert project.rows("subscribers") == []


def test_the_export_is_the_command_lines_export(project: Project) -> None:
    queue_and_subscribe(project, 3)
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        answer = dash.client.get("/admin/subscribers/export.csv")
        assert answer.headers["content-disposition"] == 'attachment; filename="subscribers.csv"'
        assert answer.headers["cache-control"] == "no-store, private"
    assert project.run("subscribers", "export", "backup.csv").exit_code == 0
    assert answer.text == (project.dir / "backup.csv").read_text(encoding="utf-8")


@time_machine.travel("2026-11-25 12:00:00+00:00", tick=False)
def test_the_growth_page_counts_who_joined_and_left_each_week(project: Project) -> None:
    make_admin(project)
    queue_and_subscribe(project, 6)
    weeks = {
        "reader0@example.com": ("2026-11-02 10:00:00", None, "active"),
        "reader1@example.com": ("2026-11-03 10:00:00", "2026-11-17 10:00:00", "unsubscribed"),
        "reader2@example.com": ("2026-11-10 10:00:00", None, "active"),
        "reader3@example.com": ("2026-11-11 10:00:00", "2026-11-24 09:00:00", "bounced"),
        "reader4@example.com": ("2026-11-24 10:00:00", None, "active"),
        "reader5@example.com": ("2026-11-24 11:00:00", None, "pending"),
    }
    with project.engine.begin() as conn:
        for address, (created, left, status) in weeks.items():
            conn.execute(
                text(
                    "UPDATE subscribers SET created_at = :c, unsubscribed_at = :u, status = :s "
                    "WHERE email = :a"
                ),
                {
                    "c": dt.datetime.fromisoformat(created).replace(tzinfo=dt.UTC),
                    "u": dt.datetime.fromisoformat(left).replace(tzinfo=dt.UTC) if left else None,
                    "s": status,
                    "a": address,
                },
            )
    with dashboard(project) as dash:
        dash.login()
        page = dash.get("/admin/growth?weeks=13").text
    tables = re.findall(r"<tbody>(.*?)</tbody>", page, re.S)
    active = dict(re.findall(r'<th scope="row">([^<]+)</th><td data-value="(\d+)"', tables[0]))
    assert [active[f"Nov {d}, 2026"] for d in ("02", "09", "16", "23")] == ["2", "4", "3", "3"]
    moves = re.findall(
        r'<th scope="row">Nov 23, 2026</th>((?:<td data-value="\d+">[^<]*</td>)+)', tables[1]
    )
    assert re.findall(r'data-value="(\d+)"', moves[0]) == ["1", "0", "1"]
