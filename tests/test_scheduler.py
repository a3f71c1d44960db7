"""The weekly scheduler: the trigger, catch-up, alerts, and real `newsletter run` processes."""

from __future__ import annotations

import email
import email.policy
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from newsletter import db
from newsletter.config import ScheduleSection
from newsletter.editions import open_edition
from newsletter.scheduler import next_run, weekly_trigger
from newsletter.weekly import catch_up_decision, run_week
from newsletter.weeks import IsoWeek
from tests.conftest import Project, free_port, tip_text, wait_for

NY = ZoneInfo("America/New_York")


def fires(schedule: ScheduleSection, start: datetime, count: int) -> list[datetime]:
    trigger = weekly_trigger(schedule)
    out: list[datetime] = []
    previous = None
    now = start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        out.append(fire)
        previous, now = fire, fire + timedelta(seconds=1)
    return out


def assert_one_per_week(times: list[datetime], weekday: int, hour: int, minute: int) -> None:
    weeks = [IsoWeek.of(t.astimezone(NY).date()) for t in times]
    assert len(set(weeks)) == len(weeks), "never twice in a week"
    for a, b in itertools.pairwise(times):
        gap = b.astimezone(UTC) - a.astimezone(UTC)
        assert (
            timedelta(days=7) - timedelta(hours=1) <= gap <= timedelta(days=7) + timedelta(hours=1)
        ), "never a skipped week"
    for t in times:
        local = t.astimezone(NY)
        assert (local.isoweekday(), local.hour, local.minute) == (weekday, hour, minute)


def test_tuesday_0900_across_both_dst_changes() -> None:
    times = fires(
        ScheduleSection(day="tue", time="09:00", timezone="America/New_York"),
        datetime(2026, 1, 1, tzinfo=UTC),
        60,
    )
    assert_one_per_week(times, 2, 9, 0)
    utc_hours = {t.astimezone(UTC).hour for t in times}
    assert utc_hours == {13, 14}, "09:00 local is 14:00 UTC in winter and 13:00 UTC in summer"


def test_a_0130_slot_on_the_dst_sundays_runs_once_each_week() -> None:
    # 2026-03-08 and 2026-11-01 are the Sundays when New York changes clocks; 01:30 is repeated
    # on the second of them.
    times = fires(
        ScheduleSection(day="sun", time="01:30", timezone="America/New_York"),
        datetime(2026, 2, 20, tzinfo=UTC),
        40,
    )
    assert_one_per_week(times, 7, 1, 30)
    local_days = [t.astimezone(NY).date().isoformat() for t in times]
    assert "2026-03-08" in local_days
    assert local_days.count("2026-11-01") == 1


def test_next_run_is_in_the_configured_zone() -> None:
    schedule = ScheduleSection(day="tue", time="09:00", timezone="America/New_York")
    upcoming = next_run(schedule, datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    assert upcoming.isoformat() == "2026-11-24T09:00:00-05:00"


# ---- catch-up and the weekly job, with an injected clock -------------------------------------

TUESDAY_0900 = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # 09:00 in New York, week 2026-W48


def queue(project: Project, tips: int = 2, readers: int = 3) -> None:
    for i in range(tips):
        project.write(f"tips/{i}.md", tip_text(f"Weekly Tip {i}", "Listen first."))
        assert project.run("tips", "add", f"tips/{i}.md").exit_code == 0
    for i in range(readers):
        assert project.run("subscribers", "add", f"r{i}@example.com").exit_code == 0


def outbox_files(project: Project, week: str) -> list[str]:
    return sorted(p.name for p in (project.dir / "outbox" / week).glob("[0-9]*.eml"))


@pytest.mark.parametrize(
    ("late", "force", "send", "reason"),
    [
        (timedelta(minutes=-5), False, False, "this week's slot is ahead"),
        (timedelta(hours=3), False, True, "passed 3.0 h ago with no edition; sending now"),
        (timedelta(hours=47), False, True, "sending now"),
        (timedelta(hours=50), False, False, "missed week 2026-W48"),
        (timedelta(hours=50), True, True, "sending now"),
    ],
)
def test_catch_up_at_start(
    project: Project, late: timedelta, force: bool, send: bool, reason: str
) -> None:
    queue(project)
    decision = catch_up_decision(project.settings, project.engine, TUESDAY_0900 + late, force=force)
    assert decision.send is send
    assert reason in decision.reason


def test_a_finished_week_is_not_sent_again_and_an_interrupted_one_is_continued(
    project: Project,
) -> None:
    queue(project)
    factory = db.session_factory(project.engine)
    open_edition(factory, project.settings, IsoWeek(2026, 48))  # started, nothing sent yet
    decision = catch_up_decision(
        project.settings, project.engine, TUESDAY_0900 + timedelta(hours=100)
    )
    assert decision.send
    assert "interrupted; continuing it" in decision.reason
    assert run_week(project.settings, project.engine, TUESDAY_0900 + timedelta(hours=100)).finished
    assert len(outbox_files(project, "2026-W48")) == 3
    done = catch_up_decision(project.settings, project.engine, TUESDAY_0900 + timedelta(hours=1))
    assert not done.send
    assert "already went out" in done.reason


def test_the_weekly_job_sends_the_week_of_the_slot(project: Project) -> None:
    queue(project)
    report = run_week(project.settings, project.engine, TUESDAY_0900).report
    assert report is not None
    assert report.week == "2026-W48"
    assert report.counts["sent"] == 3
    assert len(outbox_files(project, "2026-W48")) == 3


def read_alerts(project: Project) -> list[str]:
    folder = project.dir / "outbox" / "alerts"
    return [
        str(email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"])
        for p in sorted(folder.glob("*.eml"))
    ]


def test_an_empty_queue_sends_nothing_and_alerts(
    project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    project.provider(name="outbox")
    project.config.write_text(
        project.config.read_text() + '\n[schedule]\nalert_email = "owner@example.com"\n'
    )
    queue(project, tips=0)
    outcome = run_week(project.settings, project.engine, TUESDAY_0900)
    assert outcome.report is None and outcome.nothing_to_send
    assert project.rows("editions") == []
    assert "no edition for 2026-W48: the queue is empty" in caplog.text
    assert read_alerts(project) == ["[Customer Service Tip of the Week] No edition for 2026-W48"]


def test_the_last_tip_in_the_queue_is_warned_about_a_week_ahead(
    project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    project.config.write_text(
        project.config.read_text() + '\n[schedule]\nalert_email = "owner@example.com"\n'
    )
    queue(project, tips=2)
    run_week(project.settings, project.engine, TUESDAY_0900)
    assert "the queue has one tip left after 2026-W48" in caplog.text
    assert read_alerts(project) == ["[Customer Service Tip of the Week] The queue has one tip left"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            '[schedule]\ntimezone = "Europe/Atlantis"\n',
            "[schedule] timezone: unknown time zone 'Europe/Atlantis'",
        ),
        ('[schedule]\nday = "tues"\n', "[schedule] day: 'tues' is not one of mon, tue"),
    ],
)
def test_run_refuses_a_bad_schedule_in_one_line(
    project: Project, section: str, message: str
) -> None:
    project.config.write_text(project.config.read_text() + "\n" + section)
    result = project.run("run")
    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# ---- real `newsletter run` processes ------------------------------------------------------------


def start_run(project: Project, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "NEWSLETTER_CONFIG": str(project.config), **project.env}
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter", "run", *args],
        cwd=project.dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def local_slot(minutes_from_now: float) -> tuple[str, str]:
    """[schedule] day and time for a slot near now, in UTC (configured as the zone)."""
    at = datetime.now(UTC) + timedelta(minutes=minutes_from_now)
    return ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[at.weekday()], at.strftime("%H:%M")


def configure_slot(project: Project, minutes_from_now: float) -> str:
    day, at = local_slot(minutes_from_now)
    project.config.write_text(
        project.config.read_text()
        + f'\n[schedule]\nday = "{day}"\ntime = "{at}"\ntimezone = "UTC"\n'
    )
    return str(IsoWeek.of(datetime.now(UTC).date()))


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return out


@pytest.mark.slow
def test_two_runners_started_together_make_one_edition(project: Project) -> None:
    queue(project, tips=2, readers=40)
    week = configure_slot(project, -30)  # the slot passed half an hour ago: both catch up at start
    if local_slot(-30)[0] != local_slot(0)[0]:
        pytest.skip("the slot would fall on yesterday (test run just after midnight UTC)")
    runs = [start_run(project), start_run(project)]
    deadline = time.monotonic() + 60
    while len(outbox_files(project, week)) < 40 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    outputs = [stop(p) for p in runs]
    assert len(project.rows("editions")) == 1, outputs
    assert len(outbox_files(project, week)) == 40
    assert Counter(r["status"] for r in project.rows("deliveries")) == {"sent": 40}
    assert len(json.loads(project.run("tips", "list", "--json").stdout)) == 1


@pytest.mark.slow
def test_sigterm_mid_send_stops_cleanly_and_the_next_start_resumes(project: Project) -> None:
    queue(project, tips=1, readers=300)
    project.provider(rate_limit=100, batch_size=10, concurrency=1)
    week = configure_slot(project, -30)
    if local_slot(-30)[0] != local_slot(0)[0]:
        pytest.skip("the slot would fall on yesterday (test run just after midnight UTC)")
    first = start_run(project)
    deadline = time.monotonic() + 30
    while len(outbox_files(project, week)) < 30 and time.monotonic() < deadline:
        time.sleep(0.1)
    out = stop(first)
    assert "finishing the batches in flight, then stopping" in out
    statuses = Counter(r["status"] for r in project.rows("deliveries"))
    assert statuses["claimed"] == 0, "nothing left half-done"
    assert 0 < statuses["sent"] < 300
    second = start_run(project)
    deadline = time.monotonic() + 60
    while len(outbox_files(project, week)) < 300 and time.monotonic() < deadline:
        time.sleep(0.2)
    stop(second)
    assert Counter(r["status"] for r in project.rows("deliveries")) == {"sent": 300}


@pytest.mark.slow
def test_end_to_end_a_slot_one_minute_ahead_fills_the_outbox_once(project: Project) -> None:
    queue(project, tips=2, readers=5)
    week = configure_slot(project, 1)
    proc = start_run(project)
    deadline = time.monotonic() + 150
    status: dict[str, object] = {}
    # The runner stays up after the send: look until both are seen (a slot a few seconds
    # away can fill the outbox between two looks at the status).
    while (not status or len(outbox_files(project, week)) < 5) and time.monotonic() < deadline:
        if not status:
            result = project.run("status", "--json")
            if result.exit_code == 0 and json.loads(result.stdout)["runners"]:
                status = json.loads(result.stdout)
        time.sleep(0.5)
    time.sleep(2)
    out = stop(proc)
    assert "newsletter run: next send" in out
    assert status, "status saw the runner alive"
    assert len(outbox_files(project, week)) == 5, out
    assert len(project.rows("editions")) == 1
    assert json.loads(project.run("status", "--json").stdout)["runners"] == [], (
        "a stopped runner leaves"
    )


@pytest.mark.slow
def test_run_with_web_serves_the_app_from_the_same_process(project: Project) -> None:
    port = free_port()
    project.config.write_text(project.config.read_text() + f"\n[web]\nport = {port}\n")
    proc = start_run(project, "--web")
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
    finally:
        out = stop(proc)
    assert "serving the web app on" in out
