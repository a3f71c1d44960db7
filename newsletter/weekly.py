"""The weekly job: what the scheduler runs at the slot, at start-up, and on every retry.

It sends the week's edition through the same ``send_week`` as ``newsletter send`` and never
raises: whatever goes wrong is logged in one line (the traceback only with ``-v``), kept on
the edition, alerted, and the dead man's switch is told. The scheduler retries an edition
that did not finish, with backoff, until it finishes or the catch-up window closes.

At start-up it catches up: a slot that passed this week without an edition is sent now if it
is within ``catch_up_hours``; older than that, the week is missed (stale content is not sent)
unless the operator asked for ``--catch-up``, and a person is told.
"""

from __future__ import annotations

import logging
import threading
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from newsletter import db, editions, tips
from newsletter.alerts import alert, ping
from newsletter.config import Settings
from newsletter.errors import InputError, NewsletterError
from newsletter.sending import EditionReport, send_week
from newsletter.weeks import IsoWeek, current_week, send_moment

log = logging.getLogger("newsletter.weekly")

# Minutes between attempts at an unfinished edition: minutes, then tens of minutes.
RETRY_MINUTES = (1, 2, 5, 10, 20, 30)


@dataclass(frozen=True)
class Decision:
    """Whether to send at start-up, and why."""

    week: IsoWeek
    send: bool
    reason: str
    missed: bool = False


@dataclass(frozen=True)
class Outcome:
    """What one run of the weekly job came to."""

    week: IsoWeek
    report: EditionReport | None = None
    error: str | None = None  # what kept the edition from starting or finishing
    nothing_to_send: bool = False

    @property
    def finished(self) -> bool:
        return self.nothing_to_send or (self.report is not None and self.report.finished)


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
        missed=True,
    )


def window_closes(settings: Settings, week: IsoWeek) -> datetime:
    """After this, an unfinished edition of ``week`` is no longer retried on its own."""
    return send_moment(settings.schedule, week) + timedelta(hours=settings.schedule.catch_up_hours)


def retry_delay(attempt: int) -> timedelta:
    """How long to wait before retry number ``attempt`` (1, 2, …)."""
    return timedelta(minutes=RETRY_MINUTES[min(attempt, len(RETRY_MINUTES)) - 1])


def run_week(
    settings: Settings,
    engine: Engine,
    now: datetime,
    *,
    week: IsoWeek | None = None,
    stop: threading.Event | None = None,
) -> Outcome:
    """Send (or continue) the edition of ``week`` (default: the week of ``now``); never raise."""
    week = week or current_week(settings.schedule, now)
    ping(settings, "start", f"sending {week}")
    try:
        report = send_week(settings, week, engine=engine, stop=stop)
    except InputError as exc:
        log.warning("no edition for %s: %s", week, exc)
        _tell(settings, engine, "no-edition", f"No edition for {week}", f"Nothing was sent: {exc}")
        return Outcome(week, error=str(exc), nothing_to_send=True)
    except Exception as exc:  # the job boundary: nothing escapes to the scheduler
        return Outcome(week, error=could_not_send(settings, engine, week, exc))
    outcome = Outcome(week, report, report.stopped)
    if stop is not None and stop.is_set():
        log.info("edition %s: stopped for shutdown; the next start continues it", week)
        return outcome
    tell_outcome(settings, engine, report)
    if report.finished:
        _warn_low_queue(settings, engine, week)
    return outcome


def could_not_send(
    settings: Settings, engine: Engine, week: IsoWeek, exc: BaseException, *, what: str = "edition"
) -> str:
    """A send of ``week`` raised before it could report: log it and tell a person; the line."""
    text = _one_line(exc)
    log.error("%s %s could not start: %s", what, week, text)
    log.debug("".join(traceback.format_exception(exc)))
    subject = f"{what[:1].upper()}{what[1:]} {week} could not start"
    _tell(settings, engine, "send-failed", subject, text, week=week)
    return text


def tell_outcome(
    settings: Settings, engine: Engine, report: EditionReport, *, by_runner: bool = True
) -> None:
    """Log how a send of an edition ended; alert when it is unfinished or left failed or
    in-doubt rows (every send no person watches: the runner's, the dashboard's). The runner's
    own sends are retried on their schedule and ping the dead man's switch when they finish
    well; another's (``by_runner=False``) are neither."""
    c = report.counts
    log.info(
        "edition %s: %s of %d in %.1f s",
        report.week,
        ", ".join(f"{n} {s}" for s, n in c.items()) or "counts unknown",
        report.recipients,
        report.seconds,
    )
    week = IsoWeek.parse(report.week)
    if not report.finished:
        left = f"{c['pending']} pending, {c['claimed']} claimed" if c else "counts unknown"
        why = f" It stopped: {report.stopped}." if report.stopped else ""
        again = (
            "It is retried on its own"
            if by_runner
            else f"Send it again with `newsletter send --week {week}` once the cause is fixed"
        )
        body = (
            f"The edition {week} is unfinished ({left}).{why} {again}; "
            f"`newsletter status` and `newsletter editions show {week}` show where it stands."
        )
        _tell(settings, engine, "unfinished", f"Edition {week} is unfinished", body, week=week)
    elif report.troubled:
        body = f"{c['failed']} failed, {c['in_doubt']} in doubt: `newsletter editions show {week}`"
        _tell(settings, engine, "troubled", f"Edition {week} needs a look", body, week=week)
    elif by_runner:
        ping(settings, "success", f"edition {week}: {c['sent']} sent")


def _tell(
    settings: Settings,
    engine: Engine,
    kind: str,
    subject: str,
    body: str,
    *,
    week: IsoWeek | None = None,
) -> None:
    """Alert, and tell the dead man's switch that this week did not go well."""
    edition_id = _edition_id(engine, week) if week else None
    alert(settings, engine, kind, subject, body, edition_id=edition_id)
    ping(settings, "fail", f"{subject}: {body}")


def missed(settings: Settings, engine: Engine, decision: Decision) -> None:
    """A week whose slot passed beyond the catch-up window: a person must know."""
    log.warning("%s", decision.reason)
    _tell(settings, engine, "missed", f"Week {decision.week} was missed", decision.reason)


def gave_up(settings: Settings, engine: Engine, week: IsoWeek) -> None:
    """The catch-up window closed on an unfinished edition."""
    body = (
        f"The edition {week} is still unfinished and its catch-up window has closed: it is no "
        f"longer retried on its own. `newsletter editions show {week}` shows what is left; "
        f"`newsletter send --week {week}` finishes it."
    )
    _tell(settings, engine, "gave-up", f"Edition {week} was given up", body, week=week)


def _edition_id(engine: Engine, week: IsoWeek) -> int | None:
    try:
        with db.transaction(db.session_factory(engine)) as session:
            edition = editions.find(session, week)
            return edition.id if edition else None
    except NewsletterError:
        return None


def _warn_low_queue(settings: Settings, engine: Engine, week: IsoWeek) -> None:
    try:
        with db.transaction(db.session_factory(engine)) as session:
            left = tips.queue_length(session)
    except NewsletterError as exc:
        log.error("could not count the queue: %s", exc)
        return
    if left <= 1:
        what = "one tip left" if left == 1 else "no tips left"
        log.warning("the queue has %s after %s: add tips before next week", what, week)
        alert(
            settings,
            engine,
            "low-queue",
            f"The queue has {what}",
            f"After {week} the queue has {what}. Add tips with `newsletter tips add`.",
        )


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, NewsletterError):
        return str(exc)
    return f"unexpected error: {type(exc).__name__}: {db.reason(exc)}"


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
