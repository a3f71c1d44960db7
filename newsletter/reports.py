"""How each edition went: deliveries by status, what it caused, its runs and its timing.

Counting an edition's delivery rows takes milliseconds per 100,000; a dashboard listing a
hundred editions cannot do that on every request. So a *settled* edition (nothing pending or
claimed) is counted once and its counts kept in ``edition_stats``, and a kept count is only
trusted while it must still be true. After an edition settles, its rows change only by:

- a resend of its in-doubt rows, or a late answer for one (``in_doubt`` → ``pending`` →
  ``sent``), or anything else that moves a row through a rare status: caught by counting the
  rare statuses (``RARE``), which is cheap (few rows, one index) and compared with the kept
  counts on every read;
- a welcome (``ledger.add_welcome``): a new row in the newest edition, pending then sent, so
  the newest edition is always counted live;
- an erasure (``subscribers.remove(erase=True)``) deleting a sent row: it calls
  ``forget_subscriber`` first, which drops the kept counts of that person's editions.

A new writer of ``deliveries`` must keep to these rules or call ``forget``. Only this module
writes ``edition_stats``.

What an edition caused (unsubscribes, bounces, complaints) is read from the event log:
``subscriber_events`` rows that carry the edition (an unsubscribe link names its edition; a
provider's bounce or complaint is matched to the delivery it is about, see
``edition_of_event``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, desc, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter import runners
from newsletter.models import (
    DELIVERY_STATUSES,
    Delivery,
    Edition,
    EditionStats,
    Runner,
    SubscriberEvent,
    Tip,
    utcnow,
)

RARE = ("pending", "claimed", "in_doubt", "failed", "skipped")
CAUSED = ("unsubscribed", "bounced", "complained")
PROBLEMS = ("failed", "in_doubt")


def _zero() -> dict[str, int]:
    return dict.fromkeys(DELIVERY_STATUSES, 0)


def settled(counts: dict[str, int]) -> bool:
    """Nothing pending or claimed: no sender will change these rows on its own."""
    return counts["pending"] == 0 and counts["claimed"] == 0


@dataclass
class Figures:
    """One edition's numbers: deliveries by status and what it caused, with rates."""

    edition: Edition
    title: str
    slug: str
    counts: dict[str, int]
    caused: dict[str, int]

    @property
    def attempted(self) -> int:
        """Handed to the provider, whatever came of it."""
        return self.counts["sent"] + self.counts["failed"] + self.counts["in_doubt"]

    def rate(self, kind: str) -> float | None:
        """Unsubscribes, bounces or complaints per message sent (None before any was sent)."""
        sent = self.counts["sent"]
        return self.caused[kind] / sent if sent else None

    @property
    def delivery_rate(self) -> float | None:
        """Sent and not bounced, of all that were handed to the provider."""
        if not self.attempted:
            return None
        return max(self.counts["sent"] - self.caused["bounced"], 0) / self.attempted


def figures(
    session: Session,
    editions: Sequence[Edition],
    counts: dict[int, dict[str, int]] | None = None,
) -> list[Figures]:
    """The numbers of each of ``editions``, in their order (``counts``: from ``counts_many``
    already, so that a page counts each edition once)."""
    if counts is None or any(e.id not in counts for e in editions):
        counts = counts_many(session, editions)
    caused = caused_many(session, [e.id for e in editions])
    titles = {
        tip_id: (title, slug)
        for tip_id, title, slug in session.execute(
            select(Tip.id, Tip.title, Tip.slug).where(Tip.id.in_({e.tip_id for e in editions}))
        )
    }
    return [
        Figures(e, *titles.get(e.tip_id, ("?", "")), counts[e.id], caused[e.id]) for e in editions
    ]


def counts_many(session: Session, editions: Sequence[Edition]) -> dict[int, dict[str, int]]:
    """Deliveries by status for each edition: kept counts where they still hold (see above)."""
    ids = [e.id for e in editions]
    if not ids:
        return {}
    newest = session.scalar(select(func.max(Edition.week)))
    kept = {
        s.edition_id: s
        for s in session.scalars(select(EditionStats).where(EditionStats.edition_id.in_(ids)))
    }
    rare = _rare_counts(session, ids)
    found: dict[int, dict[str, int]] = {}
    for edition in editions:
        snapshot = kept.get(edition.id)
        if (
            snapshot is not None
            and edition.week != newest
            and all(snapshot.counts.get(s, 0) == rare[edition.id][s] for s in RARE)
        ):
            found[edition.id] = {**_zero(), **snapshot.counts}
            continue
        live = count(session, edition.id)
        found[edition.id] = live
        if settled(live) and (snapshot is None or snapshot.counts != live):
            _keep(session, edition.id, live)
    return found


def count(session: Session, edition_id: int) -> dict[str, int]:
    """Deliveries of one edition by status, counted now (the ledger's own count)."""
    from newsletter import ledger  # (the ledger imports subscribers, which imports this)

    return ledger.counts(session, edition_id)


def _rare_counts(session: Session, ids: list[int]) -> dict[int, dict[str, int]]:
    found = {i: dict.fromkeys(RARE, 0) for i in ids}
    rows = session.execute(
        select(Delivery.edition_id, Delivery.status, func.count())
        .where(Delivery.edition_id.in_(ids), Delivery.status.in_(RARE))
        .group_by(Delivery.edition_id, Delivery.status)
    )
    for edition_id, status, n in rows:
        found[edition_id][status] = n
    return found


def in_doubt(session: Session) -> dict[int, int]:
    """Editions with deliveries in doubt, and how many (one seek per edition: the status is
    rare)."""
    ids = list(session.scalars(select(Edition.id)))
    return {i: c["in_doubt"] for i, c in _rare_counts(session, ids).items() if c["in_doubt"]}


def caused_many(session: Session, ids: list[int]) -> dict[int, dict[str, int]]:
    """Unsubscribes, bounces and complaints each edition caused, from the event log."""
    found = {i: dict.fromkeys(CAUSED, 0) for i in ids}
    if not ids:
        return found
    rows = session.execute(
        select(SubscriberEvent.edition_id, SubscriberEvent.kind, func.count())
        .where(SubscriberEvent.edition_id.in_(ids), SubscriberEvent.kind.in_(CAUSED))
        .group_by(SubscriberEvent.edition_id, SubscriberEvent.kind)
    )
    for edition_id, kind, n in rows:
        if edition_id is not None:  # (the WHERE keeps only these; the column may be NULL)
            found[edition_id][kind] = n
    return found


def _keep(session: Session, edition_id: int, counts: dict[str, int], **detail: Any) -> None:
    """Store (or replace) an edition's kept counts; a race with another request is harmless."""
    try:
        with session.begin_nested():
            session.merge(
                EditionStats(
                    edition_id=edition_id,
                    counts=counts,
                    runs=detail.get("runs"),
                    first_sent_at=detail.get("first_sent_at"),
                    last_sent_at=detail.get("last_sent_at"),
                    computed_at=utcnow(),
                )
            )
    except IntegrityError:
        pass  # another request kept the same counts first


def forget(session: Session, edition_ids: Sequence[int]) -> None:
    """Drop kept counts (their rows are about to change in a way ``RARE`` cannot see)."""
    if edition_ids:
        session.execute(delete(EditionStats).where(EditionStats.edition_id.in_(edition_ids)))


def forget_subscriber(session: Session, subscriber_id: int) -> None:
    """Before a subscriber's deliveries are deleted: drop the kept counts of their editions."""
    session.execute(
        delete(EditionStats).where(
            EditionStats.edition_id.in_(
                select(Delivery.edition_id).where(Delivery.subscriber_id == subscriber_id)
            )
        )
    )


@dataclass
class Run:
    """One sender run's share of an edition: its counts, who it was, when its messages went."""

    run_id: str
    counts: dict[str, int]
    who: str = ""
    host: str = ""
    pid: int = 0
    started_at: datetime | None = None
    first_sent_at: datetime | None = None
    last_sent_at: datetime | None = None

    @property
    def rate(self) -> float | None:
        """Messages a second from its first accepted message to its last."""
        if self.first_sent_at is None or self.last_sent_at is None:
            return None
        seconds = (self.last_sent_at - self.first_sent_at).total_seconds()
        return self.counts.get("sent", 0) / seconds if seconds > 0 else None


@dataclass
class Detail:
    """An edition's report beyond its counts: who sent it, and when the messages went."""

    counts: dict[str, int]
    runs: list[Run] = field(default_factory=list)
    first_sent_at: datetime | None = None
    last_sent_at: datetime | None = None

    @property
    def sending_seconds(self) -> float | None:
        """From the first message accepted to the last."""
        if self.first_sent_at is None or self.last_sent_at is None:
            return None
        return (self.last_sent_at - self.first_sent_at).total_seconds()


def detail(session: Session, edition: Edition, counts: dict[str, int] | None = None) -> Detail:
    """Counts, runs and timing of one edition (kept once it has settled); ``counts``: its
    counts from ``counts_many``, if the caller has them."""
    counts = counts or counts_many(session, [edition])[edition.id]
    kept = session.get(EditionStats, edition.id)
    runs = _kept_runs(kept) if kept is not None and {**_zero(), **kept.counts} == counts else None
    if kept is not None and runs is not None:
        first, last = kept.first_sent_at, kept.last_sent_at
    else:
        runs, first, last = _runs(session, edition.id)
        if settled(counts):
            _keep(session, edition.id, counts, runs=runs, first_sent_at=first, last_sent_at=last)
    who = {r.id: r for r in session.scalars(select(Runner).where(Runner.id.in_(list(runs))))}
    shares = []
    for run_id, share in runs.items():
        runner = who.get(run_id)
        shares.append(
            Run(
                run_id,
                {**_zero(), **share["counts"]},
                runners.describe(runner),
                runner.host if runner else "",
                runner.pid if runner else 0,
                runner.started_at if runner else None,
                _when(share.get("first")),
                _when(share.get("last")),
            )
        )
    shares.sort(key=lambda r: (r.started_at is None, r.started_at or utcnow(), r.run_id))
    return Detail(counts, shares, first, last)


def _kept_runs(kept: EditionStats) -> dict[str, dict[str, Any]] | None:
    """The kept runs, or None when there are none or they were kept in an older shape."""
    runs = kept.runs
    if not isinstance(runs, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("counts"), dict) for v in runs.values()
    ):
        return None
    return runs


def _when(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def _runs(
    session: Session, edition_id: int
) -> tuple[dict[str, dict[str, Any]], datetime | None, datetime | None]:
    """Per run: its counts by status and when its first and last accepted messages went (as
    JSON, to be kept); and the edition's first and last."""
    rows = session.execute(
        select(
            Delivery.claimed_by,
            Delivery.status,
            func.count(),
            func.min(Delivery.sent_at),
            func.max(Delivery.sent_at),
        )
        .where(Delivery.edition_id == edition_id, Delivery.claimed_by.is_not(None))
        .group_by(Delivery.claimed_by, Delivery.status)
    ).all()
    runs: dict[str, dict[str, Any]] = {}
    firsts: list[datetime] = []
    lasts: list[datetime] = []
    for run_id, status, n, first, last in rows:
        share = runs.setdefault(str(run_id), {"counts": {}, "first": None, "last": None})
        share["counts"][status] = n
        if status == "sent" and first is not None and last is not None:
            share["first"], share["last"] = first.isoformat(), last.isoformat()
        if first is not None and last is not None:
            firsts.append(first)
            lasts.append(last)
    return runs, min(firsts) if firsts else None, max(lasts) if lasts else None


def edition_of_event(
    session: Session, subscriber_id: int, provider_message_id: str | None
) -> int | None:
    """The edition a provider's bounce or complaint is about: the delivery with that message
    id, else the newest edition sent to that subscriber (None if none was)."""
    mine = select(Delivery.edition_id).where(Delivery.subscriber_id == subscriber_id)
    if provider_message_id:
        found = session.scalar(
            mine.where(Delivery.provider_message_id == provider_message_id).limit(1)
        )
        if found is not None:
            return int(found)
    newest = session.scalar(
        mine.where(Delivery.status == "sent").order_by(desc(Delivery.sent_at)).limit(1)
    )
    return int(newest) if newest is not None else None
