"""Editions: one per ISO week, created once with its tip and its whole delivery list.

Creating an edition is one transaction: the edition row (unique week, unique tip), the tip's
move to ``sent``, and one pending delivery per active subscriber. A second process that races
to create the same week hits the unique constraint and continues the first one's edition.

The edition records when it went out (``sent_at``, the moment it is created, just before the
first message): its date line is rendered from that moment in the configured zone and the tip
is dated by the same day, so the email, the archive, the feed and `editions list` agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from newsletter import ledger, planning, tips
from newsletter.config import Settings
from newsletter.content import RenderedEdition
from newsletter.db import transaction
from newsletter.errors import ConfigError, InputError
from newsletter.models import Delivery, Edition, Subscriber, Tip, utcnow
from newsletter.render import render_edition
from newsletter.weeks import IsoWeek, current_week, human_moment, local_date, send_moment


def check_sendable(settings: Settings) -> None:
    """Refuse, before anything is written, a config that cannot lawfully send."""
    if not settings.newsletter.from_email:
        raise ConfigError(
            "[newsletter] from_email is not set: it is the From address of every email"
        )
    if not settings.newsletter.postal_address.strip():
        raise ConfigError(
            "[newsletter] postal_address is not set: CAN-SPAM wants a postal address in every email"
        )


def week_needs_confirmation(
    session: Session, settings: Settings, week: IsoWeek, now: datetime
) -> bool:
    """Refuse a future week; True when ``week`` is past and has no edition yet (a send would
    start a late edition for it, dated today), so a person must say yes."""
    current = current_week(settings.schedule, now)
    if week > current:
        moment = send_moment(settings.schedule, week)
        raise InputError(
            f"{week} is in the future: its edition goes out on its own on "
            f"{human_moment(moment)} (see `newsletter calendar`); nothing was sent"
        )
    return week < current and find(session, week) is None


def find(session: Session, week: IsoWeek | str) -> Edition | None:
    """The edition of ``week``, if there is one."""
    return session.scalars(select(Edition).where(Edition.week == str(week))).first()


def get(session: Session, week: str) -> Edition:
    """The edition of ``week`` or a clear error."""
    edition = find(session, IsoWeek.parse(week))
    if edition is None:
        raise InputError(f"no edition for {week} (see `newsletter editions list`)")
    return edition


def rendered(edition: Edition) -> RenderedEdition:
    """The content stored on the edition."""
    return RenderedEdition(edition.subject, edition.html, edition.text)


def choose_tip(
    session: Session,
    ref: str | None,
    week: IsoWeek | None = None,
    settings: Settings | None = None,
) -> Tip:
    """The tip to send: the one named; else the one the calendar plans for ``week`` (pinned to
    it, or the head of the queue); else the head of the queue."""
    if ref:
        tip: Tip | None = tips.get_tip(session, ref)
    elif week is not None and settings is not None:
        tip = planning.tip_for_week(session, settings, week)
    else:
        tip = tips.next_queued(session)
    if tip is None and tips.queue_length(session):
        raise InputError(
            f"nothing is planned for {week}: every queued tip is pinned to a later week "
            "(see `newsletter calendar`)"
        )
    if tip is None:
        raise InputError(
            "the queue is empty: nothing to send (add tips with `newsletter tips add FILE`)"
        )
    if tip.status != "queued":
        raise InputError(
            f"tip '{tip.slug}' is {tip.status}; only a queued tip can start an edition"
        )
    return tip


def open_edition(
    factory: sessionmaker[Session],
    settings: Settings,
    week: IsoWeek,
    *,
    tip_ref: str | None = None,
    now: datetime | None = None,
) -> tuple[Edition, bool]:
    """The week's edition: the existing one, or a new one; ``True`` when this call created it."""
    with transaction(factory) as session:
        existing = find(session, week)
        if existing is not None:
            return existing, False
    check_sendable(settings)
    try:
        with transaction(factory) as session:
            tip = choose_tip(session, tip_ref, week, settings)
            sent_at = now or utcnow()
            send_date = local_date(settings.schedule, sent_at)
            content = render_edition(settings, tip, send_date=send_date)
            edition = Edition(
                week=str(week),
                tip_id=tip.id,
                subject=content.subject,
                html=content.html,
                text=content.text,
                sent_at=sent_at,
            )
            session.add(edition)
            session.flush()
            tips.mark_sent(session, tip, on=send_date)
            edition.recipients = ledger.create_deliveries(session, edition.id)
            return edition, True
    except IntegrityError:
        # Another sender created this week's edition first: continue theirs.
        with transaction(factory) as session:
            raced = find(session, week)
            if raced is None:
                raise
            return raced, False


@dataclass(frozen=True)
class Plan:
    """What ``send --dry-run`` shows."""

    week: str
    tip_title: str
    exists: bool
    recipients: int
    first: list[str] = field(default_factory=list)


def plan(session: Session, settings: Settings, week: IsoWeek, tip_ref: str | None) -> Plan:
    """What a send of ``week`` would do now, without changing anything."""
    edition = find(session, week)
    if edition is not None:
        tip = session.get(Tip, edition.tip_id)
        query = (
            select(Subscriber.email)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.edition_id == edition.id, Delivery.status == "pending")
            .order_by(Delivery.id)
        )
        remaining = ledger.counts(session, edition.id)["pending"]
        return Plan(
            str(week),
            tip.title if tip else "?",
            True,
            remaining,
            list(session.scalars(query.limit(5))),
        )
    check_sendable(settings)
    tip = choose_tip(session, tip_ref, week, settings)
    active = select(Subscriber.email).where(Subscriber.status == "active").order_by(Subscriber.id)
    total = (
        session.scalar(
            select(func.count()).select_from(Subscriber).where(Subscriber.status == "active")
        )
        or 0
    )
    return Plan(str(week), tip.title, False, total, list(session.scalars(active.limit(5))))


def finish(
    session: Session, edition: Edition, now: datetime | None = None, *, error: str | None = None
) -> dict[str, int]:
    """The counts after a send; the edition is ``sent`` once no row is pending or claimed.

    ``error`` (what stopped the send) is kept on the edition for ``status`` and alerts.
    """
    counts = ledger.counts(session, edition.id)
    now = now or utcnow()
    if error:
        edition.error, edition.error_at = error, now
    if counts["pending"] == 0 and counts["claimed"] == 0:
        if edition.status == "sending":
            edition.finished_at = now
        edition.status = "sent" if counts["sent"] or not edition.recipients else "failed"
    return counts
