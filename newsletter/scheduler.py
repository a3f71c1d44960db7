"""APScheduler wiring for the weekly job: the trigger, catch-up at start, heartbeats, signals.

The job is ``weekly.run_week``, the same send as ``newsletter send``. Several runners on one
database are safe: the week's edition is unique in the database, so whoever comes second
continues (joins) the first one's edition instead of starting another.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from newsletter import db, runners, weekly
from newsletter.config import ScheduleSection, Settings
from newsletter.models import utcnow

log = logging.getLogger("newsletter.scheduler")
JOB_ID = "weekly-send"


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
        self._beat()
        decision = weekly.catch_up_decision(self.settings, self.engine, now, force=self.catch_up)
        log.info("at start: %s", decision.reason)
        if decision.send and not self.stop.is_set():
            weekly.run_week(self.settings, self.engine, now, stop=self.stop)
        if self.stop.is_set():
            self._leave()
            return
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
            self._beat, IntervalTrigger(seconds=runners.HEARTBEAT.total_seconds()), id="heartbeat"
        )
        try:
            self.scheduler.start()
        finally:
            self._leave()

    def _job(self) -> None:
        weekly.run_week(self.settings, self.engine, self.clock(), stop=self.stop)
        self._beat()

    def _beat(self) -> None:
        with db.transaction(db.session_factory(self.engine)) as session:
            runners.beat(session, next_run(self.settings.schedule, self.clock()))

    def _leave(self) -> None:
        with db.transaction(db.session_factory(self.engine)) as session:
            runners.leave(session)
        log.info("newsletter run: stopped")

    def _install_signals(self) -> None:
        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info(
                "%s: finishing the batch in flight, then stopping", signal.Signals(signum).name
            )
            self.stop.set()
            if self.scheduler.running:
                threading.Thread(
                    target=self.scheduler.shutdown, kwargs={"wait": True}, daemon=True
                ).start()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
