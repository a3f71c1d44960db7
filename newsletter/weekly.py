"""The weekly job: what the scheduler runs at the slot and at start-up.

It sends the week's edition through the same ``send_week`` as ``newsletter send``. At start-up
it catches up: a slot that passed this week without an edition is sent now if it is within
``catch_up_hours``; older than that, the week is logged as missed (stale content is not sent)
unless the operator asked for ``--catch-up``. An empty queue, a failed send or a queue down to
its last tip is logged and emailed to ``alert_email``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from newsletter import db, editions, tips
from newsletter.alerts import alert
from newsletter.config import Settings
from newsletter.errors import InputError, NewsletterError
from newsletter.sending import EditionReport, send_week
from newsletter.weeks import IsoWeek, current_week, send_moment

log = logging.getLogger("newsletter.weekly")


@dataclass(frozen=True)
class Decision:
    """Whether to send at start-up, and why."""

    week: IsoWeek
    send: bool
    reason: str


def catch_up_decision(
    settings: Settings, engine: Engine, now: datetime, *, force: bool = False
) -> Decision:
    """At start-up: is this week's slot past, unsent, and recent enough to send now?"""
    week = current_week(settings.schedule, now)
    slot = send_moment(settings.schedule, week)
    with db.transaction(db.session_factory(engine)) as session:
        edition = editions.find(session, week)
        unfinished = edition is not None and edition.status == "sending"
    if edition is not None and not unfinished:
        return Decision(week, False, f"edition {week} already went out")
    if unfinished:
        return Decision(week, True, f"edition {week} was interrupted; continuing it")
    if slot > now:
        return Decision(week, False, f"this week's slot is ahead ({slot.isoformat()})")
    late = now - slot
    if late <= timedelta(hours=settings.schedule.catch_up_hours) or force:
        return Decision(
            week, True, f"the slot of {week} passed {_hours(late)} ago with no edition; sending now"
        )
    return Decision(
        week,
        False,
        f"missed week {week}: its slot passed {_hours(late)} ago, beyond catch_up_hours "
        f"({settings.schedule.catch_up_hours}); stale content is not sent (--catch-up sends it)",
    )


def run_week(
    settings: Settings, engine: Engine, now: datetime, *, stop: threading.Event | None = None
) -> EditionReport | None:
    """Send (or continue) the edition of the week of ``now``; alert on trouble; never raise."""
    week = current_week(settings.schedule, now)
    try:
        report = send_week(settings, week, engine=engine, stop=stop)
    except InputError as exc:
        log.warning("no edition for %s: %s", week, exc)
        alert(settings, f"No edition for {week}", f"Nothing was sent for {week}: {exc}")
        return None
    except NewsletterError as exc:
        log.error("edition %s failed: %s", week, exc)
        alert(settings, f"Edition {week} failed", f"The send of {week} stopped: {exc}")
        return None
    if not report.created:
        log.info(
            "edition %s was already started (another runner, or an earlier run); continued it", week
        )
    log.info(
        "edition %s: %d sent, %d failed, %d in doubt, %d skipped of %d in %.1f s",
        week,
        report.counts["sent"],
        report.counts["failed"],
        report.counts["in_doubt"],
        report.counts["skipped"],
        report.recipients,
        report.seconds,
    )
    if report.troubled:
        c = report.counts
        body = f"{c['failed']} failed, {c['in_doubt']} in doubt: `newsletter editions show {week}`"
        alert(settings, f"Edition {week} needs a look", body)
    _warn_low_queue(settings, engine, week)
    return report


def _warn_low_queue(settings: Settings, engine: Engine, week: IsoWeek) -> None:
    with db.transaction(db.session_factory(engine)) as session:
        left = tips.queue_length(session)
    if left <= 1:
        what = "one tip left" if left == 1 else "no tips left"
        log.warning("the queue has %s after %s: add tips before next week", what, week)
        alert(
            settings,
            f"The queue has {what}",
            f"After {week} the queue has {what}. Add tips with `newsletter tips add`.",
        )


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
