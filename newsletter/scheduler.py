"""APScheduler wiring for the weekly job: the trigger, catch-up, retries, heartbeats, signals.

The job is ``weekly.run_week``, the same send as ``newsletter send``. An edition that does
not finish (the provider is down, the database went away, a bug) is retried after 1, 2, 5,
10, 20, then every 30 minutes until it finishes or its catch-up window closes; a person is
told each time, and once more when the window closes. Several runners on one database are
safe: the week's edition is unique in the database, so whoever comes second continues
(joins) the first one's edition instead of starting another.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from newsletter import db, runners, weekly
from newsletter.config import ScheduleSection, Settings
from newsletter.errors import NewsletterError
from newsletter.models import utcnow
from newsletter.weeks import IsoWeek, current_week

log = logging.getLogger("newsletter.scheduler")
JOB_ID = "weekly-send"
RETRY_JOB_ID = "weekly-retry"


# (apscheduler ships no type hints, so its classes are Any to mypy)
class WeeklyTrigger(CronTrigger):  # type: ignore[misc]
    """A cron trigger that fires at most once per ISO week of its zone.

    On the night clocks fall back, a wall-clock time such as 01:30 happens twice, and
    CronTrigger fires at both (and, asked again from the second, returns it again). The
    second fire of a week is moved to the next week's slot.
    """

    def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime | None:
        fire: datetime | None = super().get_next_fire_time(previous, now)
        if fire is None or previous is None:
            return fire
        zone = self.timezone
        if fire <= previous or _week(fire, zone) == _week(previous, zone):
            local = previous.astimezone(zone)
            monday = datetime.combine(
                local.date() + timedelta(days=7 - local.weekday()), time(0), zone
            )
            fire = super().get_next_fire_time(None, monday)
        return fire


def _week(moment: datetime, zone: ZoneInfo) -> tuple[int, int]:
    iso = moment.astimezone(zone).isocalendar()
    return iso.year, iso.week


def weekly_trigger(schedule: ScheduleSection) -> WeeklyTrigger:
    """Every ``day`` at ``time`` in ``timezone`` (wall-clock time, so DST never shifts it)."""
    hour, minute = (int(x) for x in schedule.time.split(":"))
    zone = ZoneInfo(schedule.timezone)
    return WeeklyTrigger(day_of_week=schedule.day, hour=hour, minute=minute, timezone=zone)


def next_run(schedule: ScheduleSection, now: datetime) -> datetime:
    """The next slot after ``now``, in the configured zone."""
    fire = weekly_trigger(schedule).get_next_fire_time(None, now)
    assert fire is not None
    return fire


class WeeklyRunner:
    """``newsletter run``: the scheduler in the foreground until SIGTERM or SIGINT."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        catch_up: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.catch_up = catch_up
        self.clock = clock
        self.stop = threading.Event()
        zone = ZoneInfo(settings.schedule.timezone)
        self.scheduler = BlockingScheduler(timezone=zone)
        self.run_id: str | None = None
        self.retries: dict[IsoWeek, int] = {}

    def start(self) -> None:
        """Catch up if due, then run the schedule; returns after a clean shutdown."""
        now = self.clock()
        upcoming = next_run(self.settings.schedule, now)
        log.info(
            "newsletter run: next send %s (%s UTC)",
            upcoming.isoformat(timespec="minutes"),
            upcoming.astimezone(UTC).isoformat(timespec="minutes"),
        )
        self._install_signals()
        with db.transaction(db.session_factory(self.engine)) as session:
            self.run_id = runners.start(session, "scheduler", next_run=upcoming)
        decision = weekly.catch_up_decision(self.settings, self.engine, now, force=self.catch_up)
        log.info("at start: %s", decision.reason)
        if decision.missed:
            weekly.missed(self.settings, self.engine, decision)
        if decision.send and not self.stop.is_set():
            self.attempt(decision.week)
        if self.stop.is_set():
            self._leave()
            return
        self.scheduler.add_listener(self._missed, EVENT_JOB_MISSED)
        self.scheduler.add_job(
            self._job,
            weekly_trigger(self.settings.schedule),
            id=JOB_ID,
            replace_existing=True,
            coalesce=True,  # several missed slots run once
            max_instances=1,
            # APScheduler's default grace is 1 second: a wake-up a little late would skip the week.
            misfire_grace_time=max(self.settings.schedule.catch_up_hours, 1) * 3600,
        )
        self.scheduler.add_job(
            self._beat,
            IntervalTrigger(seconds=runners.SCHEDULER_BEAT.total_seconds()),
            id="heartbeat",
        )
        try:
            self.scheduler.start()
        finally:
            self._leave()

    def _job(self) -> None:
        """The weekly slot."""
        self.attempt(current_week(self.settings.schedule, self.clock()))

    def attempt(self, week: IsoWeek) -> None:
        """Send (or continue) ``week``; schedule the next retry if it did not finish."""
        try:
            outcome = weekly.run_week(
                self.settings, self.engine, self.clock(), week=week, stop=self.stop
            )
        except Exception:  # run_week never raises; this is the last line of defence
            log.exception("the weekly job failed")
            outcome = weekly.Outcome(week, error="the weekly job failed")
        if outcome.finished or self.stop.is_set():
            self.retries.pop(week, None)
        else:
            self._schedule_retry(week)
        self._beat()

    def _schedule_retry(self, week: IsoWeek) -> None:
        attempt = self.retries.get(week, 0) + 1
        when = self.clock() + weekly.retry_delay(attempt)
        if when > weekly.window_closes(self.settings, week):
            self.retries.pop(week, None)
            weekly.gave_up(self.settings, self.engine, week)
            return
        self.retries[week] = attempt
        log.warning("edition %s: retry %d at %s", week, attempt, when.isoformat(timespec="seconds"))
        self.scheduler.add_job(
            self.attempt,
            DateTrigger(run_date=when),
            args=[week],
            id=RETRY_JOB_ID,
            replace_existing=True,
            misfire_grace_time=None,  # late is better than never, within the window
        )

    def _missed(self, event: JobExecutionEvent) -> None:
        """APScheduler let a slot pass (the process was asleep beyond the grace time)."""
        if event.job_id != JOB_ID:
            return
        week = current_week(self.settings.schedule, event.scheduled_run_time)
        decision = weekly.Decision(
            week, False, f"missed week {week}: its slot passed while the runner slept", True
        )
        weekly.missed(self.settings, self.engine, decision)

    def _beat(self) -> None:
        if self.run_id is None:
            return
        try:
            with db.transaction(db.session_factory(self.engine)) as session:
                if not runners.beat(
                    session, self.run_id, next_run=next_run(self.settings.schedule, self.clock())
                ):
                    log.warning("this runner's heartbeat row is gone; registering again")
                    self.run_id = runners.start(session, "scheduler")
        except NewsletterError as exc:  # the database is down: say so, keep the schedule
            log.error("heartbeat not written: %s", exc)

    def _leave(self) -> None:
        if self.run_id is not None:
            try:
                with db.transaction(db.session_factory(self.engine)) as session:
                    runners.end(session, self.run_id)
            except NewsletterError as exc:
                log.error("could not record that this runner stopped: %s", exc)
        log.info("newsletter run: stopped")

    def _install_signals(self) -> None:
        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info(
                "%s: finishing the batches in flight, then stopping", signal.Signals(signum).name
            )
            self.stop.set()
            if self.scheduler.running:
                threading.Thread(
                    target=self.scheduler.shutdown, kwargs={"wait": True}, daemon=True
                ).start()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
