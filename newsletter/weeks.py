"""ISO weeks: the key of an edition (``2026-W48``) and the day it goes out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from newsletter.config import DAY_NAMES, ScheduleSection
from newsletter.errors import InputError

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``2026-W48`` → IsoWeek(2026, 48); a clear error for anything else."""
        match = _WEEK.match(text.strip())
        if match:
            year, week = int(match[1]), int(match[2])
            try:
                date.fromisocalendar(year, week, 1)
            except ValueError:
                pass
            else:
                return cls(year, week)
        raise InputError(f"{text!r} is not an ISO week like 2026-W48")

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        """The ISO week that ``day`` falls in."""
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    def day(self, weekday: str) -> date:
        """The date of ``weekday`` (mon … sun) in this week."""
        return date.fromisocalendar(self.year, self.week, DAY_NAMES.index(weekday) + 1)

    def following(self) -> IsoWeek:
        """The next ISO week."""
        return IsoWeek.of(self.day("mon") + timedelta(days=7))


def human_date(day: date) -> str:
    """``Tue Nov 24, 2026``: how every command shows a date."""
    return f"{day:%a} {day:%b} {day.day}, {day.year}"


def human_moment(moment: datetime) -> str:
    """``Tue Nov 24, 2026 09:00``, in the moment's own zone."""
    return f"{human_date(moment.date())} {moment:%H:%M}"


def local_date(schedule: ScheduleSection, moment: datetime) -> date:
    """The calendar day of ``moment`` in the configured time zone."""
    return moment.astimezone(ZoneInfo(schedule.timezone)).date()


def send_moment(schedule: ScheduleSection, week: IsoWeek) -> datetime:
    """When the week's edition is due, in the configured time zone."""
    hour, minute = (int(x) for x in schedule.time.split(":"))
    return datetime.combine(week.day(schedule.day), time(hour, minute), ZoneInfo(schedule.timezone))


def current_week(schedule: ScheduleSection, now: datetime) -> IsoWeek:
    """The ISO week of ``now`` in the configured time zone."""
    return IsoWeek.of(now.astimezone(ZoneInfo(schedule.timezone)).date())


def next_send(schedule: ScheduleSection, now: datetime) -> datetime:
    """The next scheduled send at or after ``now`` (this week's slot, or next week's)."""
    week = current_week(schedule, now)
    moment = send_moment(schedule, week)
    if moment < now:
        following = week.day("mon") + timedelta(days=7)
        moment = send_moment(schedule, IsoWeek.of(following))
    return moment
