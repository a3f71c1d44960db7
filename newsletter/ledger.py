"""The delivery ledger: one row per edition and recipient, moved through its states.

    pending ──claim──▶ claimed ──result──▶ sent | failed
       ▲                  │
       └── released ──────┤ (the provider refused the whole call: nothing went out)
                          └─▶ in_doubt (interrupted, and the provider cannot say)
    pending ──claim, recipient no longer active──▶ skipped

Every transition is committed by the caller right after these functions run: a claim before
the provider is called, a result right after.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, func, insert, literal, select, update
from sqlalchemy.orm import Session

from newsletter.models import Delivery, Edition, Subscriber, SubscriberEvent, utcnow
from newsletter.names import PersonName
from newsletter.providers.base import SendResult

HOST = socket.gethostname()


@dataclass(frozen=True)
class Claimed:
    """A claimed delivery with what is needed to build its message."""

    delivery_id: int
    subscriber_id: int
    email: str
    name: PersonName
    batch_key: str


def worker_id(batch_no: int) -> str:
    """``host:pid:n``: who holds a claim, and which of its batches it is."""
    return f"{HOST}:{os.getpid()}:{batch_no}"


def create_deliveries(session: Session, edition_id: int) -> int:
    """One pending row per active subscriber, in one INSERT … SELECT; returns the count."""
    rows = select(literal(edition_id), Subscriber.id, literal("pending"), literal(0)).where(
        Subscriber.status == "active"
    )
    target = (Delivery.edition_id, Delivery.subscriber_id, Delivery.status, Delivery.attempts)
    session.execute(insert(Delivery).from_select([c.key for c in target], rows))
    # Counted, not rowcount: drivers differ on what INSERT … SELECT reports.
    total = select(func.count()).select_from(Delivery).where(Delivery.edition_id == edition_id)
    return session.scalar(total) or 0


def claim_batch(
    session: Session, edition_id: int, worker: str, size: int, lease_until: datetime
) -> tuple[list[Claimed], int]:
    """Claim up to ``size`` pending rows for ``worker``: (rows to send, how many were skipped).

    Rows whose recipient is no longer active are marked ``skipped`` instead of sent.

    One UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING: atomic on SQLite, and with
    FOR UPDATE SKIP LOCKED on PostgreSQL, so concurrent senders never claim the same row.
    """
    pick = (
        select(Delivery.id)
        .where(Delivery.edition_id == edition_id, Delivery.status == "pending")
        .order_by(Delivery.id)
        .limit(size)
        .with_for_update(skip_locked=True)
    )
    claimed_ids = session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(pick.scalar_subquery()))
        .values(
            status="claimed",
            claimed_by=worker,
            batch_key=worker,
            lease_until=lease_until,
            attempts=Delivery.attempts + 1,
        )
        .returning(Delivery.id)
    ).all()
    return _sendable(session, list(claimed_ids), worker)


def _sendable(session: Session, ids: list[int], worker: str) -> tuple[list[Claimed], int]:
    if not ids:
        return [], 0
    rows = session.execute(
        select(
            Delivery.id,
            Delivery.batch_key,
            Subscriber.id,
            Subscriber.email,
            Subscriber.first_name,
            Subscriber.last_name,
            Subscriber.status,
        )
        .outerjoin(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.id)
    ).all()
    keep, gone = [], []
    for delivery_id, batch_key, subscriber_id, email, first, last, status in rows:
        if status == "active":
            name = PersonName(first, last)
            keep.append(Claimed(delivery_id, subscriber_id, email, name, batch_key or worker))
        else:
            gone.append(delivery_id)
    if gone:
        # Unsubscribed (or bounced, or removed) since the edition started: never sent to.
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(gone))
            .values(
                status="skipped", claimed_by=None, lease_until=None, error="no longer subscribed"
            )
        )
    return keep, len(gone)


def renew(session: Session, ids: Sequence[int], worker: str, lease_until: datetime) -> None:
    """Extend the lease on rows we still hold (before each retry of a batch)."""
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.claimed_by == worker, Delivery.status == "claimed")
        .values(lease_until=lease_until)
    )


def record(
    session: Session, results: Sequence[SendResult], *, via: str, now: datetime | None = None
) -> None:
    """Write each message's outcome (one executemany per outcome); a suppressed address makes
    its subscriber ``bounced``."""
    now = now or utcnow()
    table = cast(Table, Delivery.__table__)
    sent = [{"_id": r.delivery_id, "_mid": r.provider_message_id} for r in results if r.ok]
    failed = [{"_id": r.delivery_id, "_error": r.error} for r in results if not r.ok]
    if sent:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values(
                status="sent",
                provider_message_id=bindparam("_mid"),
                sent_at=now,
                error=None,
                lease_until=None,
            ),
            sent,
        )
    if failed:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values(status="failed", error=bindparam("_error"), lease_until=None),
            failed,
        )
    for result in results:
        if result.suppressed:
            _mark_bounced(session, result, via=via, now=now)


def _mark_bounced(session: Session, result: SendResult, *, via: str, now: datetime) -> None:
    subscriber_id = session.scalar(
        select(Delivery.subscriber_id).where(Delivery.id == result.delivery_id)
    )
    if subscriber_id is None:
        return
    changed = session.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber_id, Subscriber.status == "active")
        .values(status="bounced")
    )
    if changed.rowcount:  # type: ignore[attr-defined]
        session.add(
            SubscriberEvent(
                subscriber_id=subscriber_id,
                kind="bounced",
                via=via,
                at=now,
                detail=result.error or "",
            )
        )


def release(session: Session, ids: Sequence[int], error: str) -> None:
    """Back to pending: the provider refused the call, so nothing went out."""
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == "claimed")
        .values(status="pending", claimed_by=None, lease_until=None, error=error)
    )


def mark_in_doubt(session: Session, ids: Sequence[int], reason: str) -> None:
    """The batch may or may not have gone out and nobody can tell: report, never resend silently."""
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == "claimed")
        .values(status="in_doubt", lease_until=None, error=reason)
    )


def stale_claims(session: Session, edition_id: int, now: datetime) -> list[Claimed]:
    """Claimed rows whose holder is gone: the lease ran out, or its process on this host died."""
    rows = session.execute(
        select(
            Delivery.id,
            Delivery.claimed_by,
            Delivery.batch_key,
            Delivery.lease_until,
            Subscriber.id,
            Subscriber.email,
            Subscriber.first_name,
            Subscriber.last_name,
        )
        .outerjoin(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.edition_id == edition_id, Delivery.status == "claimed")
        .order_by(Delivery.id)
    ).all()
    stale = []
    for delivery_id, claimed_by, batch_key, lease_until, subscriber_id, email, *name in rows:
        if (lease_until is not None and lease_until < now) or _holder_died(claimed_by):
            stale.append(
                Claimed(
                    delivery_id,
                    subscriber_id or 0,
                    email or "",
                    PersonName(name[0] or "", name[1] or ""),
                    batch_key or claimed_by or "",
                )
            )
    return stale


def _holder_died(claimed_by: str | None) -> bool:
    host, _, rest = (claimed_by or "").partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOST or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def take_over(session: Session, ids: Sequence[int], worker: str, lease_until: datetime) -> None:
    """Hold stale rows for ``worker``, keeping their batch key."""
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == "claimed")
        .values(claimed_by=worker, lease_until=lease_until, attempts=Delivery.attempts + 1)
    )


def resend_in_doubt(session: Session, edition_id: int) -> int:
    """Put in-doubt rows back in the queue (the operator chose to risk a duplicate)."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.edition_id == edition_id, Delivery.status == "in_doubt")
        .values(status="pending", claimed_by=None, lease_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def counts(session: Session, edition_id: int) -> dict[str, int]:
    """Deliveries of an edition by status (every status listed)."""
    found = dict.fromkeys(("pending", "claimed", "sent", "failed", "in_doubt", "skipped"), 0)
    rows = session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.edition_id == edition_id)
        .group_by(Delivery.status)
    )
    for status, count in rows:
        found[status] = count
    return found


def failures(session: Session, edition_id: int, limit: int = 20) -> list[tuple[str, str, str]]:
    """(address, status, reason) of failed and in-doubt rows."""
    rows = session.execute(
        select(Subscriber.email, Delivery.status, Delivery.error)
        .outerjoin(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.edition_id == edition_id, Delivery.status.in_(("failed", "in_doubt")))
        .order_by(Delivery.id)
        .limit(limit)
    ).all()
    return [(email or "(removed)", status, error or "") for email, status, error in rows]


def claim_welcome(
    session: Session, subscriber_id: int, worker: str, lease_until: datetime
) -> tuple[int, Claimed] | None:
    """The welcome: one delivery of the latest edition for a newly confirmed subscriber,
    written already claimed by ``worker``; (edition id, claim), or None when there is no
    edition yet, the subscriber is not active, or they have that edition already."""
    edition_id = session.scalar(select(Edition.id).order_by(Edition.week.desc()).limit(1))
    person = session.get(Subscriber, subscriber_id)
    if edition_id is None or person is None or person.status != "active":
        return None
    had = session.scalar(
        select(Delivery.id).where(
            Delivery.edition_id == edition_id, Delivery.subscriber_id == subscriber_id
        )
    )
    if had is not None:
        return None
    row = Delivery(
        edition_id=edition_id,
        subscriber_id=subscriber_id,
        status="claimed",
        attempts=1,
        claimed_by=worker,
        batch_key=worker,
        lease_until=lease_until,
    )
    session.add(row)
    session.flush()
    name = PersonName(person.first_name, person.last_name)
    return edition_id, Claimed(row.id, subscriber_id, person.email, name, worker)
