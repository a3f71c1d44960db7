"""The content calendar: planned dates, pins, unskip, `newsletter calendar`, and the weekly
send picking the pinned tip."""

from __future__ import annotations

import json

import pytest
import time_machine

from tests.conftest import Project, tip_text

# Monday 2026-11-23, 14:00 UTC: this week's slot (Tue Nov 24, 09:00 New York) is ahead.
NOW = "2026-11-23 14:00:00+00:00"


def queue(project: Project, *titles: str) -> None:
    paths = []
    for title in titles:
        slug = title.lower().replace(" ", "-")
        paths.append(str(project.write(f"tips/{slug}.md", tip_text(title, f"About {title}."))))
    result = project.run("tips", "add", *paths)
    assert result.exit_code == 0, result.output


def planned(project: Project) -> list[tuple[str, str | None, str | None]]:
    result = project.run("tips", "list", "--json")
    assert result.exit_code == 0, result.output
    return [
        (t["slug"], (t["planned_at"] or "")[:10] or None, t["pinned_week"])
        for t in json.loads(result.stdout)
    ]


@time_machine.travel(NOW, tick=False)
def test_tips_list_shows_the_date_each_tip_goes_out(project: Project) -> None:
    queue(project, "One", "Two", "Three")
    assert planned(project) == [
        ("one", "2026-11-24", None),
        ("two", "2026-12-01", None),
        ("three", "2026-12-08", None),
    ]
    human = project.run("tips", "list").stdout
    assert "Tue Nov 24, 2026" in human and "Tue Dec 8, 2026" in human
    assert "2026-W48" not in human, "people see dates, not ISO weeks"


@time_machine.travel(NOW, tick=False)
def test_a_pinned_tip_keeps_its_week_and_the_queue_flows_around_it(project: Project) -> None:
    queue(project, "One", "Two", "Three", "Holiday Poem")
    pinned = project.run("tips", "pin", "holiday-poem", "--on", "2026-12-02")
    assert pinned.exit_code == 0, pinned.output
    assert "goes out Tue Dec 1, 2026 09:00 (America/New_York)" in pinned.stdout
    assert planned(project) == [
        ("one", "2026-11-24", None),
        ("holiday-poem", "2026-12-01", "2026-W49"),
        ("two", "2026-12-08", None),
        ("three", "2026-12-15", None),
    ]
    calendar = project.run("calendar", "--weeks", "6")
    assert calendar.exit_code == 0
    lines = [" ".join(line.split()) for line in calendar.stdout.splitlines()]
    assert any("Tue Dec 1, 2026 │ 2026-W49 │ Holiday Poem │ pinned" in line for line in lines)
    assert any("Tue Dec 22, 2026 │ 2026-W52 │ empty: nothing queued" in line for line in lines)
    assert "the queue runs dry: nothing for Tue Dec 22, 2026 (2 of the next 6 weeks empty)" in (
        " ".join(calendar.stderr.split())
    )
    unpinned = project.run("tips", "unpin", "holiday-poem")
    assert "it now goes out Tue Dec 15, 2026" in unpinned.stdout
    assert [p[0] for p in planned(project)] == ["one", "two", "three", "holiday-poem"]


@time_machine.travel(NOW, tick=False)
def test_calendar_json_and_no_warning_while_the_queue_lasts(project: Project) -> None:
    queue(project, "One", "Two")
    result = project.run("calendar", "--weeks", "2", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert [(w["date"], w["tip"], w["pinned"]) for w in doc["weeks"]] == [
        ("2026-11-24", "one", False),
        ("2026-12-01", "two", False),
    ]
    assert doc["runs_dry_on"] is None
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope", "--on", "2026-12-22"), "no tip with id or slug 'nope'"),
        (("one", "--on", "2026-11-01"), "2026-11-01 is in the past (today is 2026-11-23"),
        (("one", "--on", "22/12/2026"), "'22/12/2026' is not a date like 2026-12-22"),
        (("two", "--on", "2026-12-23"), "'one' is already pinned to the week of Tue Dec 22, 2026"),
        (
            ("gone", "--on", "2026-12-30"),
            "tip 'gone' is skipped, not queued, so it can't be pinned",
        ),
    ],
)
@time_machine.travel(NOW, tick=False)
def test_pin_refuses_bad_input_with_one_line(
    project: Project, args: tuple[str, ...], message: str
) -> None:
    queue(project, "One", "Two", "Gone")
    assert project.run("tips", "pin", "one", "--on", "2026-12-22").exit_code == 0
    assert project.run("tips", "skip", "gone").exit_code == 0
    before = project.snapshot()
    result = project.run("tips", "pin", *args)
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert project.snapshot() == before


@time_machine.travel("2026-11-25 14:00:00+00:00", tick=False)
def test_pin_refuses_a_week_whose_send_has_passed(project: Project) -> None:
    queue(project, "One")
    result = project.run("tips", "pin", "one", "--on", "2026-11-27")
    assert result.exit_code == 1
    assert "sent on Tue Nov 24, 2026 09:00 (America/New_York), which has passed" in result.stderr


@time_machine.travel(NOW, tick=False)
def test_a_skipped_tip_comes_back_at_the_end(project: Project) -> None:
    queue(project, "One", "Two")
    project.run("tips", "skip", "one")
    back = project.run("tips", "unskip", "one")
    assert back.exit_code == 0
    assert "back in the queue at #2: it goes out Tue Dec 1, 2026 09:00" in back.stdout
    assert [p[0] for p in planned(project)] == ["two", "one"]
    again = project.run("tips", "unskip", "one")
    assert again.exit_code == 1
    assert "tip 'one' is queued, not skipped" in again.stderr


def test_the_weekly_send_picks_the_tip_pinned_to_its_week(project: Project) -> None:
    queue(project, "One", "Two", "Holiday Poem")
    project.run("subscribers", "add", "ann@example.com")
    with time_machine.travel(NOW, tick=False):
        assert project.run("tips", "pin", "holiday-poem", "--on", "2026-12-22").exit_code == 0
    for day, expected in (
        ("2026-11-24", "One"),
        ("2026-12-01", "Two"),
        ("2026-12-22", "Holiday Poem"),
    ):
        with time_machine.travel(f"{day} 14:30:00+00:00", tick=False):
            sent = project.run("send")
            assert sent.exit_code == 0, sent.output
            assert f"({expected})" in sent.stdout
    with time_machine.travel("2026-12-29 14:30:00+00:00", tick=False):
        empty = project.run("send")
    assert empty.exit_code == 1
    assert "the queue is empty" in empty.stderr


def test_a_pin_whose_week_passed_unsent_flows_with_the_queue_again(project: Project) -> None:
    queue(project, "One", "Two")
    with time_machine.travel(NOW, tick=False):
        project.run("tips", "pin", "two", "--on", "2026-12-01")
    with time_machine.travel("2026-12-09 14:00:00+00:00", tick=False):
        assert [p[0] for p in planned(project)] == ["one", "two"]
        calendar = project.run("calendar")
    assert "'two' was pinned to 2026-W49, which passed without it" in calendar.stderr


@time_machine.travel(NOW, tick=False)
def test_only_pinned_tips_left_means_nothing_this_week(project: Project) -> None:
    queue(project, "One")
    project.run("subscribers", "add", "ann@example.com")
    project.run("tips", "pin", "one", "--on", "2026-12-22")
    result = project.run("send")
    assert result.exit_code == 1
    assert "nothing is planned for 2026-W48: every queued tip is pinned to a later week" in (
        result.stderr
    )
