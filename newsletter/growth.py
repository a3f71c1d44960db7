"""The list over time, week by week: who joined, who left, and how many were active.

Weeks start on Monday at 00:00 in ``[schedule] timezone``. The figures are read from the
subscribers as they stand now: someone counts from the week they were added here
(``created_at``; a pending signup who never confirmed does not count) until the week they
unsubscribed, bounced or complained (``unsubscribed_at``). Someone removed is not in the
table any more; someone who left and came back counts as having stayed.

Set-based: one statement counts every week's joins and leaves as ranges of two indexes
(``ix_subscribers_created_at_status``, ``ix_subscribers_status_unsubscribed_at``), on SQLite
and PostgreSQL alike; nothing loops over subscribers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter import db
from newsletter.config import ScheduleSection
from newsletter.models import Subscriber, UTCDateTime

LEFT = ("unsubscribed", "bounced", "complained")
STAMP = UTCDateTime()
MAX_WEEKS = 260


@dataclass(frozen=True)
class Week:
    """One week: its Monday, who joined and who left in it, and who was active at its end."""

    monday: date
    joined: int
    unsubscribed: int
    bounced: int
    complained: int
    active: int

    @property
    def left(self) -> int:
        """Everyone who left that week, however they left."""
        return self.unsubscribed + self.bounced + self.complained


def mondays(schedule: ScheduleSection, now: datetime, weeks: int) -> list[date]:
    """The Mondays of the last ``weeks`` weeks, this week's last."""
    today = now.astimezone(ZoneInfo(schedule.timezone)).date()
    this = today - timedelta(days=today.weekday())
    return [this - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]


def weekly(session: Session, schedule: ScheduleSection, now: datetime, weeks: int) -> list[Week]:
    """The last ``weeks`` weeks (1 to ``MAX_WEEKS``), oldest first; this week so far last."""
    weeks = max(1, min(weeks, MAX_WEEKS))
    zone = ZoneInfo(schedule.timezone)
    days = mondays(schedule, now, weeks)
    edges = [datetime.combine(d, time(0), zone) for d in [*days, days[-1] + timedelta(weeks=1)]]
    # Driver-level SQL on purpose: built with SQLAlchemy, the 104 weeks' literals cost twice
    # the queries themselves (cache keys, type objects). Names are ours; values are bound.
    conn = session.connection()
    mark = db.marks(conn, 1)
    weeks_table = " UNION ALL ".join(
        f"SELECT {i} AS n, {mark} AS lo, {mark} AS hi" for i in range(weeks)
    )
    counted = ", ".join(
        [
            "(SELECT count(*) FROM subscribers s WHERE s.created_at >= w.lo "
            "AND s.created_at < w.hi AND s.status <> 'pending')",
            *(
                f"(SELECT count(*) FROM subscribers s WHERE s.status = '{status}' "  # noqa: S608
                "AND s.unsubscribed_at >= w.lo AND s.unsubscribed_at < w.hi)"
                for status in LEFT
            ),
        ]
    )
    sql = f"SELECT w.n, {counted} FROM ({weeks_table}) w ORDER BY w.n"  # noqa: S608
    bounds = [db.driver_value(conn, STAMP, e) for pair in pairwise(edges) for e in pair]
    rows = conn.exec_driver_sql(sql, tuple(bounds)).all()
    start, created, stopped = edges[0], Subscriber.created_at, Subscriber.unsubscribed_at
    active = (
        session.scalar(select(func.count()).where(created < start, Subscriber.status != "pending"))
        or 0
    ) - (
        session.scalar(select(func.count()).where(Subscriber.status.in_(LEFT), stopped < start))
        or 0
    )
    found = []
    for n, joined, unsubscribed, bounced, complained in rows:
        active += joined - unsubscribed - bounced - complained
        found.append(Week(days[n], joined, unsubscribed, bounced, complained, active))
    return found
