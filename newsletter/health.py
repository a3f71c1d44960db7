"""Is the newsletter healthy? One set of checks for ``status``, ``status --check`` and
``/healthz?deep=1``, so a monitor, systemd and a person all see the same thing.

A check fails when the weekly runner's heartbeat is stale (or no runner ever ran), when an
edition is still unfinished ``[alerts] unfinished_after_minutes`` after its slot, or when the
queue is empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import ledger, runners, tips
from newsletter.config import Settings
from newsletter.models import Edition, Tip
from newsletter.weeks import IsoWeek, send_moment

# A scheduler beats every 30 s; three missed beats and it is taken for gone.
RUNNER_STALE = 3 * runners.SCHEDULER_BEAT


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Unfinished:
    """An edition still being sent, where it stands and who holds its claims."""

    week: str
    title: str
    counts: dict[str, int]
    holders: list[ledger.Holding] = field(default_factory=list)
    error: str | None = None
    overdue: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "title": self.title,
            "counts": self.counts,
            "holders": [
                {"run": h.run_id, "rows": h.rows, "alive": h.alive, "who": h.who}
                for h in self.holders
            ],
            "error": self.error,
            "overdue": self.overdue,
        }


def unfinished(session: Session, settings: Settings, now: datetime) -> list[Unfinished]:
    """Editions still ``sending``, oldest first."""
    grace = timedelta(seconds=settings.provider.lease_seconds)
    late = timedelta(minutes=settings.alerts.unfinished_after_minutes)
    found = []
    for edition in session.scalars(
        select(Edition).where(Edition.status == "sending").order_by(Edition.week)
    ):
        tip = session.get(Tip, edition.tip_id)
        slot = send_moment(settings.schedule, IsoWeek.parse(edition.week))
        found.append(
            Unfinished(
                edition.week,
                tip.title if tip else "?",
                ledger.counts(session, edition.id),
                ledger.holdings(session, edition.id, grace),
                edition.error,
                overdue=now - max(slot, edition.created_at) > late,
            )
        )
    return found


def checks(session: Session, settings: Settings, now: datetime) -> list[Check]:
    """Every check, passing or not."""
    return [
        _runner(session),
        _editions(session, settings, now),
        _queue(session),
    ]


def _runner(session: Session) -> Check:
    live = runners.alive(session, "scheduler", RUNNER_STALE)
    if live:
        return Check("runner", True, ", ".join(runners.describe(r) for r in live) + " alive")
    last = runners.last_seen(session, "scheduler")
    if last is None:
        return Check("runner", False, "no `newsletter run` has ever run against this database")
    ago = runners.clock(session) - last.heartbeat_at
    return Check(
        "runner",
        False,
        f"no `newsletter run` is alive: the last one ({runners.describe(last)}) wrote its "
        f"heartbeat {_ago(ago)} ago",
    )


def _editions(session: Session, settings: Settings, now: datetime) -> Check:
    late = [u for u in unfinished(session, settings, now) if u.overdue]
    if not late:
        return Check("editions", True, "no edition unfinished past its slot")
    weeks = ", ".join(f"{u.week} ({u.counts['pending'] + u.counts['claimed']} left)" for u in late)
    return Check(
        "editions",
        False,
        f"unfinished more than {settings.alerts.unfinished_after_minutes} min after the slot: "
        f"{weeks}",
    )


def _queue(session: Session) -> Check:
    n = tips.queue_length(session)
    if n == 0:
        return Check("queue", False, "the queue is empty: next week sends nothing")
    return Check("queue", True, f"{n} tips queued")


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
