"""Subscribers: add, remove, unsubscribe, resubscribe, confirm; addresses and names.

Every change of status writes a ``subscriber_events`` row in the same transaction, and every
change that stops mail (unsubscribe, bounce, complaint, erasure) goes through ``stop`` or
``suppress_address``, which also put the address on the suppression list. Nothing else writes
the list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    delete,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from newsletter import reports
from newsletter.errors import InputError
from newsletter.models import (
    SUBSCRIBER_STATUSES,
    Delivery,
    Edition,
    ProviderEvent,
    Subscriber,
    SubscriberEvent,
    utcnow,
)
from newsletter.names import PersonName
from newsletter.suppression import SELF_LIFTABLE, SuppressionList

SENDABLE = "active"
SUPPRESSED = ("unsubscribed", "bounced", "complained")
NAME_LIMIT = 200
# Unicode category Cc: C0 controls, DEL and C1 controls.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
NO_NAME = PersonName()


class Suppressed(InputError):
    """The address is on the suppression list: it is not made active."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(
            f"{address} is on the suppression list ({reason}); if they asked to come back, "
            f'use `newsletter subscribers resubscribe {address} --reason "…"`'
        )
        self.address, self.reason = address, reason


# The common case (plain ASCII dot-atom local part, LDH domain): checked here, with the
# domain checked once per distinct domain by email-validator itself. Anything else goes
# through email-validator whole, which also gives the reason for a refusal.
_FAST_ADDRESS = re.compile(
    r"^(?P<local>[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$"
)


def check_text(value: str, what: str) -> str:
    """``value`` trimmed; refused if it holds a control character (CR, LF, NUL, any C0/C1).

    The one rule for every door (CLI, import, signup): such characters in a name or an
    address can forge email headers or break the files they are written to.
    """
    text = value.strip()
    found = _CONTROL.search(text)
    if found:
        raise InputError(
            f"{what} {text[:60]!r} contains a control character "
            f"(U+{ord(found[0]):04X}); remove it and try again"
        )
    return text


def clean_name(name: PersonName) -> PersonName:
    """A name checked by ``check_text`` and cut to the column's length."""
    return PersonName(
        check_text(name.first, "the first name")[:NAME_LIMIT],
        check_text(name.last, "the last name")[:NAME_LIMIT],
    )


def normalise_email(raw: str) -> str:
    """Validate an address (syntax only, no DNS) and return its one canonical spelling.

    Trimmed, the local part lower-cased, the domain in its IDNA ASCII form: ``Ann@exämple.com``
    and ``ann@xn--exmple-cua.com`` are one mailbox, stored as the latter.
    """
    candidate = check_text(raw, "the address").lower()
    fast = _FAST_ADDRESS.match(candidate)
    if fast and len(fast["local"]) <= 64 and len(candidate) <= 254 and _domain_ok(fast["domain"]):
        return candidate
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        shown = raw.strip() or "(empty)"
        raise InputError(f"{shown!r} is not a valid email address: {exc}") from None
    return f"{result.local_part.lower()}@{(result.ascii_domain or result.domain).lower()}"


@lru_cache(maxsize=4096)
def _domain_ok(domain: str) -> bool:
    try:
        validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def by_operator(via: str) -> bool:
    """A change the operator made (the CLI, or the dashboard as ``admin:<address>``), as
    opposed to the person's own link or a provider's report."""
    return via == "cli" or via.startswith("admin:")


def record_event(
    session: Session,
    subscriber_id: int | None,
    kind: str,
    via: str,
    *,
    edition_id: int | None = None,
    detail: str = "",
) -> None:
    """Append one row to the subscriber's log."""
    session.add(
        SubscriberEvent(
            subscriber_id=subscriber_id, kind=kind, via=via, edition_id=edition_id, detail=detail
        )
    )


def by_address(session: Session, address: str) -> Subscriber | None:
    """The subscriber stored under this already-normalised address, if any."""
    return session.scalars(select(Subscriber).where(Subscriber.email == address)).first()


_ADDRESS_AND_STATUS = select(Subscriber.email, Subscriber.status).where(
    Subscriber.id == bindparam("subscriber_id")
)


def address_and_status(conn: Connection, subscriber_id: int) -> tuple[str, str] | None:
    """One subscriber's address and status, read without the ORM (the unsubscribe page's
    lookup, the web app's most frequent query); None if there is no such subscriber."""
    row = conn.execute(_ADDRESS_AND_STATUS, {"subscriber_id": subscriber_id}).first()
    return (row[0], row[1]) if row else None


def find(session: Session, email: str) -> Subscriber | None:
    """The subscriber with this address (any case, any spacing), if any."""
    return by_address(session, normalise_email(email))


def get(session: Session, email: str) -> Subscriber:
    """The subscriber with this address, or an ``InputError``."""
    subscriber = find(session, email)
    if subscriber is None:
        raise InputError(f"no subscriber with address {email.strip()!r}")
    return subscriber


def add(
    session: Session,
    suppressions: SuppressionList,
    email: str,
    *,
    name: PersonName = NO_NAME,
    via: str = "cli",
    status: str = "active",
) -> Subscriber:
    """Add a new subscriber (``active`` from the CLI, ``pending`` from the signup form).

    An address on the suppression list is refused with ``Suppressed``.
    """
    address = normalise_email(email)
    name = clean_name(name)
    existing = by_address(session, address)
    if existing is not None:
        hint = (
            "; if they asked to come back, use `newsletter subscribers resubscribe`"
            if existing.status in SUPPRESSED
            else ""
        )
        raise InputError(f"{address} is already on the list ({existing.status}){hint}")
    entry = suppressions.entry(session, address)
    if entry is not None:
        raise Suppressed(address, entry.reason)
    return _create(session, address, name, status=status, via=via)


def _create(
    session: Session, address: str, name: PersonName, *, status: str, via: str
) -> Subscriber:
    now = utcnow()
    subscriber = Subscriber(
        email=address,
        first_name=name.first,
        last_name=name.last,
        status=status,
        source=via,
        created_at=now,
        subscribed_at=now,
        confirmed_at=now if status == "active" else None,
    )
    session.add(subscriber)
    session.flush()
    record_event(session, subscriber.id, "subscribed", via)
    return subscriber


def stop(
    session: Session,
    suppressions: SuppressionList,
    subscriber: Subscriber,
    reason: str,
    *,
    via: str,
    edition_id: int | None = None,
    detail: str = "",
) -> bool:
    """Stop all mail to a subscriber: ``reason`` is ``unsubscribed``, ``bounced`` or
    ``complained``. The one path for all three, from every door: status, log, suppression.

    False if they already had that status (the suppression is ensured all the same).
    """
    suppressions.add(session, subscriber.email, reason, via)
    if subscriber.status == reason:
        return False
    subscriber.status = reason
    if reason == "unsubscribed" or subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = utcnow()
    record_event(session, subscriber.id, reason, via, edition_id=edition_id, detail=detail)
    session.flush()
    return True


def unsubscribe(
    session: Session,
    suppressions: SuppressionList,
    subscriber: Subscriber,
    *,
    via: str,
    edition_id: int | None = None,
) -> bool:
    """Stop all mail to this subscriber; False if they were already unsubscribed."""
    return stop(session, suppressions, subscriber, "unsubscribed", via=via, edition_id=edition_id)


def mark_bounced(
    session: Session,
    suppressions: SuppressionList,
    subscriber: Subscriber,
    *,
    kind: str,
    via: str,
    detail: str = "",
) -> bool:
    """A hard bounce or spam complaint: ``kind`` is ``bounced`` or ``complained``."""
    return stop(session, suppressions, subscriber, kind, via=via, detail=detail)


def suppress_address(
    session: Session,
    suppressions: SuppressionList,
    email: str,
    *,
    reason: str = "unsubscribed",
    via: str = "cli",
) -> tuple[str, bool]:
    """An opt-out for an address that may never have been a subscriber here.

    A subscriber is stopped as by ``stop``; any other address goes on the suppression list
    only (no log row: it would hold the address). Returns (address, changed).
    """
    address = normalise_email(email)
    subscriber = by_address(session, address)
    if subscriber is not None:
        kind = reason if reason in SUPPRESSED else "unsubscribed"
        return address, stop(session, suppressions, subscriber, kind, via=via)
    return address, suppressions.add(session, address, reason, via)


def resubscribe(
    session: Session,
    suppressions: SuppressionList,
    email_or_subscriber: str | Subscriber,
    *,
    via: str,
    reason: str = "",
) -> tuple[Subscriber, bool]:
    """Make an address active again and lift its suppression; (subscriber, changed).

    By the operator (the CLI or the dashboard, with a ``reason`` for the log) anything is
    lifted, and an address that was only on the suppression list becomes a subscriber. From
    the web (the person's own signed link) only an unsubscribe is undone, never a bounce or
    complaint.
    """
    if isinstance(email_or_subscriber, Subscriber):
        subscriber: Subscriber | None = email_or_subscriber
        address = email_or_subscriber.email
    else:
        address = normalise_email(email_or_subscriber)
        subscriber = by_address(session, address)
    entry = suppressions.entry(session, address)
    if not by_operator(via):
        held = entry.reason if entry is not None else None
        if subscriber is not None and subscriber.status in ("bounced", "complained"):
            held = subscriber.status
        if held is not None and held not in SELF_LIFTABLE:
            raise Suppressed(address, held)
    if entry is not None:
        suppressions.lift(session, address)
    if subscriber is None:
        if entry is None:
            raise InputError(f"no subscriber with address {address!r}, and it is not suppressed")
        subscriber = _create(session, address, PersonName(), status="active", via=via)
        record_event(session, subscriber.id, "resubscribed", via, detail=reason)
        return subscriber, True
    if subscriber.status == "active":
        return subscriber, entry is not None
    subscriber.status, subscriber.unsubscribed_at = "active", None
    subscriber.confirmed_at = subscriber.confirmed_at or utcnow()
    record_event(session, subscriber.id, "resubscribed", via, detail=reason)
    session.flush()
    return subscriber, True


def confirm(
    session: Session, suppressions: SuppressionList, subscriber: Subscriber, *, via: str
) -> bool:
    """Double opt-in: the person confirmed by their link. A pending subscriber becomes active;
    one who had left comes back (their own unsubscribe is lifted, never a complaint)."""
    if subscriber.status == "active":
        return False
    if subscriber.status != "pending":
        resubscribe(session, suppressions, subscriber, via=via, reason="confirmed by the person")
        return True
    entry = suppressions.entry(session, subscriber.email)
    if entry is not None:
        if entry.reason not in SELF_LIFTABLE:
            raise Suppressed(subscriber.email, entry.reason)
        suppressions.lift(session, subscriber.email)
    subscriber.status, subscriber.confirmed_at = "active", utcnow()
    record_event(session, subscriber.id, "confirmed", via)
    session.flush()
    return True


def remove(
    session: Session,
    suppressions: SuppressionList,
    subscriber: Subscriber,
    *,
    erase: bool,
    via: str = "cli",
) -> None:
    """Delete a subscriber. The log keeps a ``removed`` row, unless ``erase`` wipes every trace
    (the address stays on the suppression list, as a hash, so no import brings it back)."""
    if erase:
        suppressions.add(session, subscriber.email, "erased", via)
        reports.forget_subscriber(session, subscriber.id)
        session.execute(
            delete(SubscriberEvent).where(SubscriberEvent.subscriber_id == subscriber.id)
        )
        session.execute(delete(Delivery).where(Delivery.subscriber_id == subscriber.id))
        session.execute(delete(ProviderEvent).where(ProviderEvent.email == subscriber.email))
    else:
        record_event(session, None, "removed", via, detail=subscriber.email)
    session.delete(subscriber)
    session.flush()


def history(session: Session, suppressions: SuppressionList, email: str) -> dict[str, Any]:
    """Everything known about one address: status, names, consent, events, deliveries."""
    address = normalise_email(email)
    subscriber = by_address(session, address)
    entry = suppressions.entry(session, address)
    if subscriber is None and entry is None:
        raise InputError(f"no subscriber with address {email.strip()!r}")
    suppressed = {"reason": entry.reason, "at": _iso(entry.at), "via": entry.via} if entry else None
    if subscriber is None:
        return {"email": address, "subscriber": None, "suppressed": suppressed}
    events = session.scalars(
        select(SubscriberEvent)
        .where(SubscriberEvent.subscriber_id == subscriber.id)
        .order_by(SubscriberEvent.id)
    )
    deliveries = session.execute(
        select(Edition.week, Delivery.status, Delivery.sent_at, Delivery.error)
        .join(Edition, Edition.id == Delivery.edition_id)
        .where(Delivery.subscriber_id == subscriber.id)
        .order_by(Delivery.id)
    )
    return {
        "email": address,
        "subscriber": subscriber_record(subscriber),
        "suppressed": suppressed,
        "events": [
            {"at": _iso(e.at), "kind": e.kind, "via": e.via, "detail": e.detail} for e in events
        ],
        "deliveries": [
            {"edition": week, "status": status, "sent_at": _iso(sent_at), "error": error or ""}
            for week, status, sent_at, error in deliveries
        ],
    }


def subscriber_record(s: Subscriber) -> dict[str, Any]:
    """A subscriber as plain data: every field, times in ISO 8601 (UTC)."""
    return {
        "id": s.id,
        "email": s.email,
        "first_name": s.first_name,
        "last_name": s.last_name,
        "status": s.status,
        "source": s.source,
        "created_at": _iso(s.created_at),
        "subscribed_at": _iso(s.subscribed_at),
        "confirmed_at": _iso(s.confirmed_at),
        "unsubscribed_at": _iso(s.unsubscribed_at),
        "consent": s.consent,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def counts_by_status(session: Session) -> dict[str, int]:
    """How many subscribers there are in each status (every status listed)."""
    counts = dict.fromkeys(SUBSCRIBER_STATUSES, 0)
    rows = session.execute(select(Subscriber.status, func.count()).group_by(Subscriber.status))
    for status, count in rows:
        counts[status] = count
    return counts


SEARCH_WORDS = 5
SEARCH_CAP = 1_000


@dataclass(frozen=True)
class Found:
    """A page of a search, and how many match in all (``capped``: more than ``total``)."""

    rows: list[Subscriber]
    total: int
    capped: bool = False


def search(
    session: Session,
    query: str,
    status: str | None,
    *,
    offset: int,
    limit: int,
    counts: dict[str, int] | None = None,
) -> Found:
    """Subscribers whose address or name holds every word of ``query`` (any case; a word
    with an ``@`` is looked for in addresses only), of ``status`` if given, newest first.

    One pass over the table finds the matching ids (at most ``SEARCH_CAP``, newest first);
    the page's rows are then read by id. Without words, the page is read by the primary key
    and the total comes from ``counts_by_status`` (``counts``, if the caller has them).
    """
    if status is not None and status not in SUBSCRIBER_STATUSES:
        raise InputError(
            f"unknown status {status!r}; choose one of {', '.join(SUBSCRIBER_STATUSES)}"
        )
    conditions = [Subscriber.status == status] if status else []
    words = query.lower().split()[:SEARCH_WORDS]
    if not words:
        counts = counts or counts_by_status(session)
        rows = session.scalars(
            select(Subscriber)
            .where(*conditions)
            .order_by(Subscriber.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return Found(list(rows), counts[status] if status else sum(counts.values()))
    conditions += [_holds(session, word) for word in words]
    ids = list(
        session.scalars(
            select(Subscriber.id)
            .where(*conditions)
            .order_by(Subscriber.id.desc())
            .limit(SEARCH_CAP + 1)
        )
    )
    page = ids[offset : offset + limit]
    rows = session.scalars(
        select(Subscriber).where(Subscriber.id.in_(page)).order_by(Subscriber.id.desc())
    )
    return Found(list(rows) if page else [], min(len(ids), SEARCH_CAP), len(ids) > SEARCH_CAP)


def _holds(session: Session, word: str) -> ColumnElement[bool]:
    """The address (or, for a word without ``@``, a name) contains ``word`` (lower case)."""
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", word) + "%"
    if "@" in word:  # addresses are stored in lower case: no folding needed
        return Subscriber.email.like(pattern, escape="\\")
    if session.get_bind().dialect.name == "postgresql":
        # A stored lower-cased copy of address and names (migration 0009): ILIKE on three
        # columns folds every row's case on every search, several times slower.
        return literal_column("subscribers.search_text").like(pattern, escape="\\")
    # SQLite's LIKE ignores ASCII case by itself.
    columns = (Subscriber.email, Subscriber.first_name, Subscriber.last_name)
    return or_(*(c.like(pattern, escape="\\") for c in columns))


def iter_subscribers(session: Session, status: str | None = None) -> Iterator[Subscriber]:
    """Stream subscribers in id order, optionally of one status."""
    if status is not None and status not in SUBSCRIBER_STATUSES:
        raise InputError(
            f"unknown status {status!r}; choose one of {', '.join(SUBSCRIBER_STATUSES)}"
        )
    query = select(Subscriber).order_by(Subscriber.id).execution_options(yield_per=1000)
    if status is not None:
        query = query.where(Subscriber.status == status)
    yield from session.scalars(query)


def request_signup(
    session: Session, suppressions: SuppressionList, email: str, name: PersonName
) -> Subscriber | str | None:
    """Public signup: who needs a confirmation email (a ``pending`` subscriber, created for a
    new address), None for an active one, or ``"suppressed"`` for an address that bounced or
    complained (never emailed again from a form anyone can fill in).

    One who had left (unsubscribed, erased) may come back: they stay as they are until they
    confirm, which lifts their own opt-out.
    """
    address = normalise_email(email)
    name = clean_name(name)
    entry = suppressions.entry(session, address)
    if entry is not None and entry.reason not in SELF_LIFTABLE:
        return "suppressed"
    existing = session.scalars(
        select(Subscriber).where(Subscriber.email == address).with_for_update()
    ).first()
    if existing is None:
        return _create(session, address, name, status="pending", via="web")
    if existing.status == "active":
        return None
    if existing.status in ("bounced", "complained"):
        return "suppressed"
    return existing
