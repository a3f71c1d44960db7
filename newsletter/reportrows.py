"""The rows behind an edition's report, a page at a time and never cut silently: the failed
and in-doubt deliveries, and the unsubscribes, bounces and complaints it caused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import desc, select
from sqlalchemy.orm import Session

from newsletter.models import Delivery, Edition, Subscriber, SubscriberEvent
from newsletter.reports import CAUSED, PROBLEMS


@dataclass(frozen=True)
class Page:
    """A slice of a longer list: never cut silently (``first``–``last`` of ``total``)."""

    rows: list[Any]
    total: int
    page: int
    size: int

    @property
    def first(self) -> int:
        """The number of the first row shown (1-based; 0 when none)."""
        return (self.page - 1) * self.size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        """The number of the last row shown."""
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.size))


def problems(session: Session, edition: Edition, total: int, page: int, size: int = 50) -> Page:
    """The failed and in-doubt rows of an edition, ``size`` a page: (address, status, reason)."""
    rows = session.execute(
        select(Subscriber.id, Subscriber.email, Delivery.status, Delivery.error, Delivery.attempts)
        .outerjoin(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.edition_id == edition.id, Delivery.status.in_(PROBLEMS))
        .order_by(Delivery.id)
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return Page([tuple(r) for r in rows], total, page, size)


def caused_events(
    session: Session, edition: Edition, total: int, page: int, size: int = 50
) -> Page:
    """The unsubscribes, bounces and complaints an edition caused, newest first."""
    rows = session.execute(
        select(
            SubscriberEvent.at,
            SubscriberEvent.kind,
            SubscriberEvent.via,
            Subscriber.id,
            Subscriber.email,
        )
        .outerjoin(Subscriber, Subscriber.id == SubscriberEvent.subscriber_id)
        .where(SubscriberEvent.edition_id == edition.id, SubscriberEvent.kind.in_(CAUSED))
        .order_by(desc(SubscriberEvent.at), desc(SubscriberEvent.id))
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return Page([tuple(r) for r in rows], total, page, size)
