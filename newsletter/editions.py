"""Editions: one per ISO week, created once with its tip and its whole delivery list.

Creating an edition is one transaction: the edition row (unique week, unique tip), the tip's
move to ``sent``, and one pending delivery per active subscriber. A second process that races
to create the same week hits the unique constraint and continues the first one's edition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from newsletter import ledger, tips
from newsletter.config import Settings
from newsletter.db import transaction
from newsletter.errors import ConfigError, InputError
from newsletter.models import Delivery, Edition, Subscriber, Tip, utcnow
from newsletter.render import RenderedEdition, render_edition
from newsletter.weeks import IsoWeek


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


def choose_tip(session: Session, ref: str | None) -> Tip:
    """The tip to send: the one named, or the head of the queue."""
    tip = tips.get_tip(session, ref) if ref else tips.next_queued(session)
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
    factory: sessionmaker[Session], settings: Settings, week: IsoWeek, *, tip_ref: str | None = None
) -> tuple[Edition, bool]:
    """The week's edition: the existing one, or a new one; ``True`` when this call created it."""
    with transaction(factory) as session:
        existing = find(session, week)
        if existing is not None:
            return existing, False
    check_sendable(settings)
    try:
        with transaction(factory) as session:
            tip = choose_tip(session, tip_ref)
            content = render_edition(settings, tip, send_date=week.day(settings.schedule.day))
            edition = Edition(
                week=str(week),
                tip_id=tip.id,
                subject=content.subject,
                html=content.html,
                text=content.text,
            )
            session.add(edition)
            session.flush()
            tips.mark_sent(session, tip)
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
    tip = choose_tip(session, tip_ref)
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
