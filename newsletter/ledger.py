"""The delivery ledger: one row per edition and recipient, moved through its states.

    pending ──claim (new batch key)──▶ claimed ──answered──▶ sent | failed
       ▲                                 │ │
       └──── release (nothing went out) ─┘ ├──▶ in_doubt (may have gone out; reported)
                                           └──▶ claimed by another run (takeover, same key)
    pending | claimed ──recipient no longer active──▶ skipped

``EditionLedger`` is the only writer of ``deliveries`` while an edition is sent: each of its
methods commits one change in its own transaction, so a claim is on disk before the provider
is called and a result right after. Which change follows an attempt is never decided here:
that is ``newsletter.fate``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from newsletter import db, runners, subscribers
from newsletter.models import Delivery, Edition, Runner, Subscriber, UTCDateTime, utcnow
from newsletter.names import PersonName
from newsletter.providers.base import SendResult
from newsletter.suppression import SuppressionList

STATUSES = ("pending", "claimed", "sent", "failed", "in_doubt", "skipped")
NO_LONGER_SUBSCRIBED = "no longer subscribed"


class Claimed(NamedTuple):
    """A claimed delivery with what is needed to build its message (a tuple: thousands are
    made a second)."""

    delivery_id: int
    subscriber_id: int
    email: str
    name: PersonName


@dataclass(frozen=True)
class Batch:
    """Claimed rows under one batch key: what goes to the provider in one call."""

    key: str
    rows: tuple[Claimed, ...]
    minted_at: datetime | None
    taken_over: bool = False  # its first sender stopped: an earlier attempt may have gone out

    @property
    def ids(self) -> list[int]:
        return [r.delivery_id for r in self.rows]

    def split_first(self) -> tuple[Batch, Batch]:
        """(the first row alone, the others), under the same key."""
        first = Batch(self.key, self.rows[:1], self.minted_at, self.taken_over)
        return first, Batch(self.key, self.rows[1:], self.minted_at, self.taken_over)

    def without(self, ids: set[int]) -> Batch:
        return Batch(
            self.key,
            tuple(r for r in self.rows if r.delivery_id not in ids),
            self.minted_at,
            self.taken_over,
        )


@dataclass(frozen=True)
class Holding:
    """Claims of one run on an edition, and whether that run is still alive."""

    run_id: str | None
    rows: int
    alive: bool
    who: str


def mint_key(week: str) -> str:
    """A batch key that names one batch for ever: never a process, never reused."""
    return f"{week}/{uuid.uuid4()}"


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


class EditionLedger:
    """The deliveries of one edition as one run (``run_id``) sees and changes them."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        edition_id: int,
        week: str,
        run_id: str,
        suppressions: SuppressionList,
    ) -> None:
        self.factory = factory
        self.engine: Engine = factory.kw["bind"]
        self.edition_id = edition_id
        self.week = week
        self.run_id = run_id
        self.suppressions = suppressions

    # ---- claims --------------------------------------------------------------------------

    def claim(self, size: int) -> tuple[Batch | None, int]:
        """Claim up to ``size`` pending rows under a new batch key: (the batch, rows skipped).

        One statement, whatever the batch size: UPDATE … WHERE id IN (SELECT … LIMIT n
        [FOR UPDATE SKIP LOCKED on PostgreSQL]) RETURNING the recipients' addresses and names.
        Rows whose recipient is no longer active become ``skipped`` in the same statement.
        Atomic on SQLite, and concurrent senders on PostgreSQL never claim the same row.
        """
        pick = pick_pending(self.edition_id, size)
        key = mint_key(self.week)
        now = utcnow()
        active = _recipient(Subscriber.status) == "active"
        statement = (
            update(Delivery)
            .where(Delivery.id.in_(pick.scalar_subquery()))
            .values(
                status=case((active, "claimed"), else_="skipped"),
                claimed_by=case((active, self.run_id), else_=None),
                batch_key=case((active, key), else_=None),
                error=case((active, None), else_=NO_LONGER_SUBSCRIBED),
                claimed_at=now,
                attempts=Delivery.attempts + 1,
            )
            .returning(
                Delivery.id,
                Delivery.status,
                Delivery.subscriber_id,
                _recipient(Subscriber.email),
                _recipient(Subscriber.first_name),
                _recipient(Subscriber.last_name),
            )
        )
        with db.serialized(self.engine), db.connection(self.engine) as conn:
            returned = sorted(conn.execute(statement).all())
        rows = tuple(
            Claimed(delivery_id, subscriber_id, email, PersonName(first or "", last or ""))
            for delivery_id, status, subscriber_id, email, first, last in returned
            if status == "claimed"
        )
        return (Batch(key, rows, now) if rows else None), len(returned) - len(rows)

    def recheck(self, batch: Batch) -> tuple[Batch, int]:
        """Before any send or resend: rows whose recipient is no longer active are skipped."""
        with db.serialized(self.engine), db.transaction(self.factory) as session:
            rows, skipped = _sendable(session, batch.ids)
        return Batch(batch.key, rows, batch.minted_at, batch.taken_over), skipped

    def stale(self, grace: timedelta) -> list[tuple[str, str | None]]:
        """(batch key, holder) of claims whose run ended or stopped heartbeating for ``grace``."""
        with db.transaction(self.factory) as session:
            cutoff = runners.clock(session) - grace
            rows = session.execute(
                select(Delivery.batch_key, Delivery.claimed_by)
                .outerjoin(Runner, Runner.id == Delivery.claimed_by)
                .where(
                    Delivery.edition_id == self.edition_id,
                    Delivery.status == "claimed",
                    or_(
                        Runner.id.is_(None),
                        Runner.ended_at.is_not(None),
                        Runner.heartbeat_at < cutoff,
                    ),
                )
                .group_by(Delivery.batch_key, Delivery.claimed_by)
            ).all()
        return [(key or "", holder) for key, holder in rows]

    def take_over(self, key: str, holder: str | None) -> Batch | None:
        """Hold a stale batch for this run, under its own key; None if another run was first."""
        held = Delivery.claimed_by.is_(None) if holder is None else Delivery.claimed_by == holder
        with db.serialized(self.engine), db.transaction(self.factory) as session:
            ids = session.scalars(
                update(Delivery)
                .where(
                    Delivery.edition_id == self.edition_id,
                    Delivery.status == "claimed",
                    Delivery.batch_key == key if key else Delivery.batch_key.is_(None),
                    held,
                )
                .values(claimed_by=self.run_id, attempts=Delivery.attempts + 1)
                .returning(Delivery.id)
            ).all()
            if not ids:
                return None
            minted = session.scalar(
                select(func.min(Delivery.claimed_at)).where(Delivery.id.in_(ids))
            )
            rows, _ = _sendable(session, list(ids), skip=False)
        return Batch(key, rows, minted, taken_over=True)

    # ---- outcomes ------------------------------------------------------------------------

    def record(self, batch: Batch, results: Sequence[SendResult], *, via: str) -> None:
        """Write each message's outcome: one statement for the whole batch.

        A result is written while the row is claimed under this batch's key or was marked in
        doubt meanwhile by a run that took it over: the provider's word beats a guess. An
        address the provider reports as dead makes its subscriber ``bounced``.
        """
        if not results:
            return
        with db.serialized(self.engine), db.connection(self.engine) as conn:
            sent_at = db.driver_value(conn, UTCDateTime(), utcnow())
            rows = [
                (
                    "sent" if r.ok else "failed",
                    r.provider_message_id,
                    r.error,
                    sent_at if r.ok else None,
                    r.delivery_id,
                    batch.key,
                )
                for r in results
            ]
            # One statement executed for every row, on the driver's own bulk path: per row,
            # SQLAlchemy's parameter handling cost more than the update itself.
            conn.exec_driver_sql(_record_sql(conn), rows)
            dead = [r for r in results if r.suppressed]
            if dead:
                with Session(bind=conn) as session:
                    for result in dead:
                        _mark_bounced(session, self.suppressions, result, via=via)
                    session.flush()

    def release(self, batch: Batch, reason: str) -> None:
        """Back to pending, without the key: nothing of this batch went out."""
        self._change(batch, status="pending", claimed_by=None, batch_key=None, error=reason)

    def in_doubt(self, batch: Batch, reason: str) -> None:
        """It may have gone out and cannot be resent safely: reported, resent only on request."""
        self._change(batch, status="in_doubt", error=reason)

    def hold(self, batch: Batch, reason: str) -> None:
        """It may have gone out; the provider dedupes: stays claimed under its key for the
        next sender (this run ends, so the claim goes stale and is taken over)."""
        self._change(batch, error=reason)

    def _change(self, batch: Batch, **values: Any) -> None:
        with db.serialized(self.engine), db.transaction(self.factory) as session:
            session.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_(batch.ids),
                    Delivery.status == "claimed",
                    Delivery.claimed_by == self.run_id,
                )
                .values(**values)
            )

    # ---- what the edition looks like ------------------------------------------------------

    def counts(self) -> dict[str, int]:
        with db.transaction(self.factory) as session:
            return counts(session, self.edition_id)

    def any_pending(self) -> bool:
        """Is any row still waiting to be claimed? (An index probe, not a count of all rows.)"""
        with db.connection(self.engine) as conn:
            return (
                conn.execute(
                    select(Delivery.id)
                    .where(Delivery.edition_id == self.edition_id, Delivery.status == "pending")
                    .limit(1)
                ).first()
                is not None
            )

    def holdings(self, grace: timedelta) -> list[Holding]:
        """Who holds the edition's claims, and whether each holder is alive."""
        with db.transaction(self.factory) as session:
            return holdings(session, self.edition_id, grace)


def pick_pending(edition_id: int, size: int) -> Select[int]:
    """The next ``size`` pending rows of an edition, locked, skipping rows other senders hold."""
    return (
        select(Delivery.id)
        .where(Delivery.edition_id == edition_id, Delivery.status == "pending")
        .order_by(Delivery.id)
        .limit(size)
        .with_for_update(skip_locked=True)
    )


def _record_sql(conn: Connection) -> str:
    """The result of one delivery, written while its batch still holds it (or a takeover
    marked it in doubt meanwhile: the provider's word beats a guess)."""
    m = db.marks(conn, 1)
    return (
        f"UPDATE deliveries SET status = {m}, provider_message_id = {m}, error = {m}, "  # noqa: S608
        f"sent_at = {m} WHERE id = {m} AND batch_key = {m} "
        "AND (status = 'claimed' OR status = 'in_doubt')"
    )


def _recipient(column: Any) -> Any:
    """``column`` of the delivery's subscriber, as a correlated scalar subquery."""
    return (
        select(column)
        .where(Subscriber.id == Delivery.subscriber_id)
        .correlate(Delivery)
        .scalar_subquery()
    )


def _sendable(
    session: Session, ids: list[int], *, skip: bool = True
) -> tuple[tuple[Claimed, ...], int]:
    """The rows of ``ids`` whose recipient is still active; the others become ``skipped``."""
    if not ids:
        return (), 0
    rows = session.execute(
        select(
            Delivery.id,
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
    for delivery_id, subscriber_id, email, first, last, status in rows:
        if status == "active" or not skip:
            name = PersonName(first or "", last or "")
            keep.append(Claimed(delivery_id, subscriber_id or 0, email or "", name))
        else:
            gone.append(delivery_id)
    if gone:
        # Unsubscribed (or bounced, or removed) since the edition started: never sent to.
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(gone), Delivery.status == "claimed")
            .values(status="skipped", claimed_by=None, error=NO_LONGER_SUBSCRIBED)
        )
    return tuple(keep), len(gone)


def _mark_bounced(
    session: Session, suppressions: SuppressionList, result: SendResult, *, via: str
) -> None:
    subscriber_id = session.scalar(
        select(Delivery.subscriber_id).where(Delivery.id == result.delivery_id)
    )
    person = session.get(Subscriber, subscriber_id) if subscriber_id else None
    if person is not None and person.status == "active":
        subscribers.mark_bounced(
            session, suppressions, person, kind="bounced", via=via, detail=result.error or ""
        )


def resend_in_doubt(session: Session, edition_id: int) -> int:
    """Put in-doubt rows back in the queue (the operator chose to risk a duplicate)."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.edition_id == edition_id, Delivery.status == "in_doubt")
        .values(status="pending", claimed_by=None, batch_key=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def counts(session: Session, edition_id: int) -> dict[str, int]:
    """Deliveries of an edition by status (every status listed)."""
    found = dict.fromkeys(STATUSES, 0)
    rows = session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.edition_id == edition_id)
        .group_by(Delivery.status)
    )
    for status, count in rows:
        found[status] = count
    return found


def holdings(session: Session, edition_id: int, grace: timedelta) -> list[Holding]:
    """Who holds an edition's claimed rows, and whether each holder is alive."""
    cutoff = runners.clock(session) - grace
    rows = session.execute(
        select(Delivery.claimed_by, func.count(), Runner)
        .outerjoin(Runner, Runner.id == Delivery.claimed_by)
        .where(Delivery.edition_id == edition_id, Delivery.status == "claimed")
        .group_by(Delivery.claimed_by, Runner.id)
    ).all()
    return [
        Holding(
            holder,
            count,
            runner is not None and runner.ended_at is None and runner.heartbeat_at >= cutoff,
            runners.describe(runner),
        )
        for holder, count, runner in rows
    ]


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


def add_welcome(session: Session, subscriber_id: int) -> str | None:
    """The welcome: a pending delivery of the latest edition for a newly confirmed subscriber,
    sent by the engine like any other; its week, or None when there is no edition yet, the
    subscriber is not active, or they have that edition already."""
    edition = session.scalars(select(Edition).order_by(Edition.week.desc()).limit(1)).first()
    person = session.get(Subscriber, subscriber_id)
    if edition is None or person is None or person.status != "active":
        return None
    had = session.scalar(
        select(Delivery.id).where(
            Delivery.edition_id == edition.id, Delivery.subscriber_id == subscriber_id
        )
    )
    if had is None:
        session.add(
            Delivery(
                edition_id=edition.id, subscriber_id=subscriber_id, status="pending", attempts=0
            )
        )
        session.flush()
    return edition.week
