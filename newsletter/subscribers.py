"""Subscribers: add, import, remove, unsubscribe, resubscribe, confirm; address normalisation.

Every change of status writes a ``subscriber_events`` row in the same transaction.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TextIO

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from newsletter import db
from newsletter.errors import InputError
from newsletter.models import (
    SUBSCRIBER_STATUSES,
    Delivery,
    ProviderEvent,
    Subscriber,
    SubscriberEvent,
    UTCDateTime,
    utcnow,
)
from newsletter.textfiles import read_utf8

IMPORT_CHUNK = 5_000
_BULK_SUBSCRIBERS = (
    "subscribers",
    ("email", "name", "status", "source", "created_at", "confirmed_at"),
)
SENDABLE = "active"
SUPPRESSED = ("unsubscribed", "bounced", "complained")

# The common case (plain ASCII dot-atom local part, LDH domain): checked here, with the
# domain checked once per distinct domain by email-validator itself. Anything else goes
# through email-validator whole, which also gives the reason for a refusal.
_FAST_ADDRESS = re.compile(
    r"^(?P<local>[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$"
)


def normalise_email(raw: str) -> str:
    """Validate an address (syntax only, no DNS) and return it trimmed and lower-cased."""
    candidate = raw.strip().lower()
    fast = _FAST_ADDRESS.match(candidate)
    if fast and len(fast["local"]) <= 64 and len(candidate) <= 254 and _domain_ok(fast["domain"]):
        return candidate
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        shown = raw.strip() or "(empty)"
        raise InputError(f"{shown!r} is not a valid email address: {exc}") from None
    return result.normalized.lower()


@lru_cache(maxsize=4096)
def _domain_ok(domain: str) -> bool:
    try:
        validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


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
    email: str,
    *,
    name: str = "",
    via: str = "cli",
    status: str = "active",
) -> Subscriber:
    """Add a new subscriber (``active`` from the CLI, ``pending`` from the signup form)."""
    address = normalise_email(email)
    existing = by_address(session, address)
    if existing is not None:
        hint = (
            "; if they asked to come back, use `newsletter subscribers resubscribe`"
            if existing.status in SUPPRESSED
            else ""
        )
        raise InputError(f"{address} is already on the list ({existing.status}){hint}")
    now = utcnow()
    subscriber = Subscriber(
        email=address,
        name=name.strip(),
        status=status,
        source=via,
        created_at=now,
        confirmed_at=now if status == "active" else None,
    )
    session.add(subscriber)
    session.flush()
    record_event(session, subscriber.id, "subscribed", via)
    return subscriber


def unsubscribe(
    session: Session, subscriber: Subscriber, *, via: str, edition_id: int | None = None
) -> bool:
    """Stop all mail to this subscriber; False if they were already unsubscribed."""
    if subscriber.status == "unsubscribed":
        return False
    subscriber.status, subscriber.unsubscribed_at = "unsubscribed", utcnow()
    record_event(session, subscriber.id, "unsubscribed", via, edition_id=edition_id)
    session.flush()
    return True


def resubscribe(session: Session, subscriber: Subscriber, *, via: str) -> bool:
    """Make a subscriber active again; False if they already were."""
    if subscriber.status == "active":
        return False
    subscriber.status, subscriber.unsubscribed_at = "active", None
    subscriber.confirmed_at = subscriber.confirmed_at or utcnow()
    record_event(session, subscriber.id, "resubscribed", via)
    session.flush()
    return True


def confirm(session: Session, subscriber: Subscriber, *, via: str) -> bool:
    """Double opt-in: a pending subscriber becomes active; False if nothing changed."""
    if subscriber.status != "pending":
        return False
    subscriber.status, subscriber.confirmed_at = "active", utcnow()
    record_event(session, subscriber.id, "confirmed", via)
    session.flush()
    return True


def mark_bounced(
    session: Session, subscriber: Subscriber, *, kind: str, via: str, detail: str = ""
) -> bool:
    """A hard bounce or spam complaint: ``kind`` is ``bounced`` or ``complained``."""
    if subscriber.status == kind:
        return False
    subscriber.status = kind
    record_event(session, subscriber.id, kind, via, detail=detail)
    session.flush()
    return True


def remove(session: Session, subscriber: Subscriber, *, erase: bool, via: str = "cli") -> None:
    """Delete a subscriber. The log keeps a ``removed`` row, unless ``erase`` wipes every trace."""
    if erase:
        session.execute(
            delete(SubscriberEvent).where(SubscriberEvent.subscriber_id == subscriber.id)
        )
        session.execute(delete(Delivery).where(Delivery.subscriber_id == subscriber.id))
        session.execute(delete(ProviderEvent).where(ProviderEvent.email == subscriber.email))
    else:
        record_event(session, None, "removed", via, detail=subscriber.email)
    session.delete(subscriber)
    session.flush()


def counts_by_status(session: Session) -> dict[str, int]:
    """How many subscribers there are in each status (every status listed)."""
    counts = dict.fromkeys(SUBSCRIBER_STATUSES, 0)
    rows = session.execute(select(Subscriber.status, func.count()).group_by(Subscriber.status))
    for status, count in rows:
        counts[status] = count
    return counts


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


def export_csv(session: Session, out: TextIO) -> int:
    """Write every subscriber as CSV (``email,name,status,created_at,...``); returns the count."""
    writer = csv.writer(out)
    writer.writerow(
        ["email", "name", "status", "source", "created_at", "confirmed_at", "unsubscribed_at"]
    )
    count = 0
    for s in iter_subscribers(session):
        writer.writerow(
            [
                s.email,
                s.name,
                s.status,
                s.source,
                _iso(s.created_at),
                _iso(s.confirmed_at),
                _iso(s.unsubscribed_at),
            ]
        )
        count += 1
    return count


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


# ---- CSV import ----------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did, row by row where a row was not imported."""

    added: int = 0
    already_subscribed: int = 0
    rows: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


@dataclass
class _Row:
    line: int
    email: str
    name: str


def read_csv(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and the (line, fields) rows of a UTF-8 CSV file (with or without BOM)."""
    text = read_utf8(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path}: the file is empty; it needs a header row 'email,name'") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        for fields in reader:
            if any(f.strip() for f in fields):
                yield reader.line_num, fields

    return header, rows()


def import_csv(
    session: Session,
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``email,name`` rows as active subscribers, in bulk.

    Bad rows are reported by line and skipped; addresses already on the list are left as
    they are (an unsubscribed one is never resubscribed by an import).
    """
    header, rows = read_csv(path)
    columns = [h.strip().lower() for h in header]
    if "email" not in columns:
        raise InputError(
            f"{path}: line 1: no 'email' column in the header (found: {', '.join(header)})"
        )
    email_col = columns.index("email")
    name_col = columns.index("name") if "name" in columns else None
    report = ImportReport(
        ignored_columns=[h for h in header if h.strip().lower() not in ("email", "name")]
    )
    seen: dict[str, int] = {}
    chunk: list[_Row] = []
    for line, fields in rows:
        report.rows += 1
        row = _parse_row(line, fields, email_col, name_col, seen, report)
        if row is not None:
            chunk.append(row)
        if len(chunk) >= IMPORT_CHUNK:
            _import_chunk(session, chunk, report)
            chunk = []
        if progress is not None and report.rows % 1000 == 0:
            progress(1000)
    if chunk:
        _import_chunk(session, chunk, report)
    if progress is not None:
        progress(report.rows % 1000)
    return report


def _parse_row(
    line: int,
    fields: list[str],
    email_col: int,
    name_col: int | None,
    seen: dict[str, int],
    report: ImportReport,
) -> _Row | None:
    raw = fields[email_col] if email_col < len(fields) else ""
    try:
        address = normalise_email(raw)
    except InputError as exc:
        report.errors.append((line, str(exc)))
        return None
    if address in seen:
        report.skipped.append((line, f"{address} appears again (first on line {seen[address]})"))
        return None
    seen[address] = line
    name = fields[name_col].strip() if name_col is not None and name_col < len(fields) else ""
    return _Row(line, address, name[:200])


def _import_chunk(session: Session, chunk: list[_Row], report: ImportReport) -> None:
    # Driver-level SQL on purpose: with SQLAlchemy's per-row and per-IN-value handling an
    # import ran at a third of this speed (bench/import.py). Table and column names are ours.
    conn = session.connection()
    existing: dict[str, str] = {}
    for part in _batches([r.email for r in chunk]):
        sql = f"SELECT email, status FROM subscribers WHERE email IN ({db.marks(conn, len(part))})"  # noqa: S608
        existing.update((email, status) for email, status in conn.exec_driver_sql(sql, tuple(part)))
    new = []
    for row in chunk:
        status = existing.get(row.email)
        if status is None:
            new.append(row)
        elif status in SUPPRESSED:
            report.skipped.append(
                (row.line, f"{row.email} is {status}: not resubscribed by an import")
            )
        else:
            report.already_subscribed += 1
    if not new:
        return
    now = db.driver_value(conn, UTCDateTime(), utcnow())  # converted once, not once per row
    rows = [(r.email, r.name, SENDABLE, "import", now, now) for r in new]
    db.executemany(conn, _BULK_SUBSCRIBERS, rows)
    for part in _batches([r.email for r in new]):
        sql = (
            "INSERT INTO subscriber_events (subscriber_id, kind, via, at, detail) "  # noqa: S608
            f"SELECT id, 'imported', 'import', {db.marks(conn, 1)}, '' FROM subscribers "
            f"WHERE email IN ({db.marks(conn, len(part))})"
        )
        conn.exec_driver_sql(sql, (now, *part))
    report.added += len(new)


def _batches(values: list[str], size: int = 900) -> Iterator[list[str]]:
    """Slices small enough for SQLite's limit on bound parameters."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def request_signup(session: Session, email: str, name: str = "") -> Subscriber | None:
    """Public signup: a new address becomes ``pending``; returns who needs a confirm email.

    An active subscriber needs none (None). A pending one gets the email again; one who left
    (unsubscribed, bounced, complained) must confirm before anything is sent to them again.
    """
    address = normalise_email(email)
    existing = by_address(session, address)
    if existing is None:
        return add(session, address, name=name, via="web", status="pending")
    if existing.status == "active":
        return None
    return existing
