"""``subscribers import``: a list file into the database, in bulk, consent kept.

Each row ends in one outcome: added (with the status the file gives it: an unsubscribed or
cleaned row is imported as such and its address suppressed), already on the list (left as it
is, unless the file says they opted out: that is applied), suppressed (an address on the
suppression list is never made active by an import), a repeat of an earlier line, or refused
(reported by line; the other rows are imported all the same).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter import db, subscribers
from newsletter.errors import InputError
from newsletter.listfiles import EXPORT_COLUMNS, ListFile, open_list, parse_time, status_word
from newsletter.models import Subscriber, Suppression, UTCDateTime, utcnow
from newsletter.names import PersonName, split_name
from newsletter.subscribers import NAME_LIMIT
from newsletter.suppression import SuppressionList

IMPORT_CHUNK = 5_000
# Our export's columns are the table's: the bulk insert writes them in that order.
_BULK_SUBSCRIBERS = ("subscribers", EXPORT_COLUMNS)
OUTCOMES = ("added", "opted_out", "already", "suppressed", "repeated", "refused")


@dataclass
class ImportReport:
    """What an import did: counts by outcome, and the lines that were not imported."""

    kind: str = ""
    mapping: list[tuple[str, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)  # of the rows added
    errors: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def added(self) -> int:
        return self.outcomes["added"]

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data (for ``--json``)."""
        return {
            "file_looks_like": self.kind,
            "mapping": dict(self.mapping),
            "ignored_columns": self.ignored_columns,
            "rows": self.rows,
            "outcomes": {o: self.outcomes[o] for o in OUTCOMES},
            "added_by_status": dict(self.statuses),
            "refused": [{"line": line, "reason": reason} for line, reason in self.errors],
            "skipped": [{"line": line, "reason": reason} for line, reason in self.skipped],
        }


@dataclass(slots=True)
class _Row:
    line: int
    email: str
    name: PersonName
    status: str
    source: str
    created_at: datetime | None
    subscribed_at: datetime | None
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    consent: str


def import_file(
    session: Session,
    suppressions: SuppressionList,
    path: Path,
    *,
    mapping: str = "",
    progress: Callable[[int], None] | None = None,
    via: str = "import",
) -> ImportReport:
    """Import a list file (see the module docstring); the caller commits, or rolls back for
    a dry run. ``via`` is what the log says the changes came through."""
    listing = open_list(path, mapping)
    report = ImportReport(listing.kind, listing.mapping(), listing.ignored)
    parse = _RowParser(listing)
    run = _Chunks(session, suppressions, report, via)
    seen: dict[str, int] = {}
    chunk: list[_Row] = []
    for line, fields in listing.rows():
        report.rows += 1
        try:
            row = parse(line, fields)
        except InputError as exc:
            report.errors.append((line, str(exc)))
            report.outcomes["refused"] += 1
            row = None
        if row is not None:
            if row.email in seen:
                report.skipped.append(
                    (line, f"{row.email} appears again (first on line {seen[row.email]})")
                )
                report.outcomes["repeated"] += 1
            else:
                seen[row.email] = line
                chunk.append(row)
        if len(chunk) >= IMPORT_CHUNK:
            run(chunk)
            chunk = []
        if progress is not None and report.rows % 1000 == 0:
            progress(1000)
    if chunk:
        run(chunk)
    if progress is not None:
        progress(report.rows % 1000)
    return report


def dry_run(
    factory: sessionmaker[Session],
    suppressions: SuppressionList,
    path: Path,
    *,
    mapping: str = "",
    via: str = "import",
) -> ImportReport:
    """What ``import_file`` would do, worked out in a transaction that is rolled back."""
    with factory() as session:
        try:
            return import_file(session, suppressions, path, mapping=mapping, via=via)
        finally:
            session.rollback()


class _RowParser:
    """One row of the file to a ``_Row``: the fields this file's mapping has, checked."""

    def __init__(self, listing: ListFile) -> None:
        self.cols = listing.columns
        c = self.cols
        self.email, self.first, self.last = c["email"], c.get("first_name"), c.get("last_name")
        self.name = c.get("name")
        self.source = c.get("source")
        self.status = c.get("status")
        self.consent = c.get("consent")
        # A Mailchimp unsubscribed or cleaned export says so by its columns, not per row.
        self.implied = (
            "unsubscribed" if "unsub_time" in c else "bounced" if "clean_time" in c else "active"
        )
        self.times = {
            f: c[f]
            for f in ("created_at", "subscribed_at", "confirmed_at", "unsubscribed_at")
            if f in c
        }
        self.stopped_at = c.get("unsubscribed_at", c.get("unsub_time", c.get("clean_time")))
        # The common spreadsheet (an address and a name): no per-row status or dates to read.
        self.plain = set(c) <= {"email", "name", "first_name", "last_name"}

    def __call__(self, line: int, fields: list[str]) -> _Row:
        if self.plain:
            return self._plain(line, fields)

        def get(index: int | None) -> str:
            return fields[index] if index is not None and index < len(fields) else ""

        address = subscribers.normalise_email(get(self.email))
        if self.first is not None or self.last is not None:
            name = subscribers.clean_name(PersonName(get(self.first), get(self.last)))
        else:
            first, last = split_name(subscribers.check_text(get(self.name), "the name"))
            name = PersonName(first[:NAME_LIMIT], last[:NAME_LIMIT])
        status = self._status(get(self.status), get(self.cols.get("email_disabled")))
        times = {f: parse_time(get(i), f.replace("_", " ")) for f, i in self.times.items()}
        stopped = parse_time(get(self.stopped_at), "the unsubscribe time")
        return _Row(
            line,
            address,
            name,
            status,
            subscribers.check_text(get(self.source), "the source")[:50] or "import",
            times.get("created_at"),
            times.get("subscribed_at" if "subscribed_at" in self.times else "created_at"),
            times.get("confirmed_at"),
            stopped if status in subscribers.SUPPRESSED else times.get("unsubscribed_at"),
            get(self.consent) if self.consent is not None else self._evidence(get),
        )

    def _plain(self, line: int, fields: list[str]) -> _Row:
        """The common spreadsheet row (an address and a name), on the fast path."""
        n, e, f, la, nm = len(fields), self.email, self.first, self.last, self.name
        address = subscribers.normalise_email(fields[e] if e < n else "")
        if f is not None or la is not None:
            first = fields[f] if f is not None and f < n else ""
            last = fields[la] if la is not None and la < n else ""
            name = subscribers.clean_name(PersonName(first, last))
        else:
            raw = fields[nm] if nm is not None and nm < n else ""
            first, last = split_name(subscribers.check_text(raw, "the name"))
            name = PersonName(first[:NAME_LIMIT], last[:NAME_LIMIT])
        return _Row(line, address, name, "active", "import", None, None, None, None, "")

    def _status(self, word: str, disabled: str) -> str:
        if disabled.strip().lower() in ("true", "yes", "1"):
            return "unsubscribed"
        if not word.strip():
            return self.implied
        status = status_word(word)
        if status is None:
            raise InputError(
                f"unknown status {word.strip()!r} (known: active, subscribed, pending, "
                "unsubscribed, cleaned, bounced, complained, …); or ignore the column with "
                '--map "Status="'
            )
        return status

    def _evidence(self, get: Callable[[int | None], str]) -> str:
        parts = []
        optin, confirm = get(self.cols.get("optin_ip")).strip(), get(self.cols.get("confirm_ip"))
        if optin:
            parts.append(f"opted in from {optin}")
        if confirm.strip():
            parts.append(f"confirmed from {confirm.strip()}")
        return subscribers.check_text("; ".join(parts), "the consent record")


ANALYZE_FROM = 5_000  # rows added before PostgreSQL's statistics are first taken again


class _Chunks:
    """Writes the rows chunk by chunk, through the driver's bulk path (bench/import.py)."""

    def __init__(
        self, session: Session, suppressions: SuppressionList, report: ImportReport, via: str
    ) -> None:
        self.session, self.suppressions, self.report = session, suppressions, report
        self.via = via
        self.conn = session.connection()
        # PostgreSQL plans the lookups by address from statistics taken before the import:
        # for a list that was empty, a sequential scan, read again for every chunk as the
        # table grows (a million rows took over half an hour). So the statistics are taken
        # again, inside the import's transaction (it sees its own rows), each time the rows
        # added double, and no plan is kept across them (the driver prepares a statement run
        # five times; a generic plan would outlive the statistics).
        self.analyze = self.conn.dialect.name == "postgresql"
        self.analyzed_at = 0
        if self.analyze:
            self.conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
        self.to_db = UTCDateTime().dialect_impl(self.conn.dialect).bind_processor(self.conn.dialect)
        # An empty suppression list (a new site) needs no lookups at all.
        self.any_suppressed = session.scalar(select(Suppression.id).limit(1)) is not None

    def __call__(self, chunk: list[_Row]) -> None:
        existing = self._existing([r.email for r in chunk])
        fresh = [r for r in chunk if r.email not in existing]
        held = (
            self.suppressions.reasons(self.session, [r.email for r in fresh])
            if self.any_suppressed
            else {}
        )
        new: list[_Row] = []
        for row in chunk:
            if row.email in existing:
                self._known(row, existing[row.email])
            elif row.email in held and row.status not in subscribers.SUPPRESSED:
                self.report.skipped.append(
                    (row.line, f"{row.email} is on the suppression list ({held[row.email]})")
                )
                self.report.outcomes["suppressed"] += 1
            else:
                new.append(row)
        self._insert(new)

    def _existing(self, emails: list[str]) -> dict[str, tuple[int, str]]:
        # Driver-level SQL on purpose: with SQLAlchemy's per-IN-value handling an import ran
        # at a third of this speed. Table and column names are ours.
        found: dict[str, tuple[int, str]] = {}
        for part in _batches(emails):
            marks = db.marks(self.conn, len(part))
            sql = f"SELECT email, id, status FROM subscribers WHERE email IN ({marks})"  # noqa: S608
            for email, id_, status in self.conn.exec_driver_sql(sql, tuple(part)):
                found[email] = (id_, status)
        return found

    def _known(self, row: _Row, known: tuple[int, str]) -> None:
        subscriber_id, status = known
        if row.status in subscribers.SUPPRESSED and status in ("active", "pending"):
            person = self.session.get(Subscriber, subscriber_id)
            assert person is not None
            subscribers.stop(self.session, self.suppressions, person, row.status, via=self.via)
            self.report.outcomes["opted_out"] += 1
            return
        if status in subscribers.SUPPRESSED and row.status not in subscribers.SUPPRESSED:
            self.report.skipped.append(
                (row.line, f"{row.email} is {status}: not resubscribed by an import")
            )
            self.report.outcomes["suppressed"] += 1
            return
        self.report.outcomes["already"] += 1

    def _insert(self, new: list[_Row]) -> None:
        if not new:
            return
        now = utcnow()
        now_db = self._db(now)
        rows = []
        stops: list[tuple[str, str, datetime]] = []
        to_db, suppressed = self._db, subscribers.SUPPRESSED
        for r in new:
            stopped = r.unsubscribed_at
            if r.status in suppressed:
                stopped = stopped or now
                stops.append((r.email, r.status, stopped))
            rows.append(
                (
                    r.email,
                    r.name.first,
                    r.name.last,
                    r.status,
                    r.source,
                    to_db(r.created_at) if r.created_at else now_db,
                    to_db(r.subscribed_at) if r.subscribed_at else None,
                    to_db(r.confirmed_at) if r.confirmed_at else None,
                    to_db(stopped) if stopped else None,
                    r.consent,
                )
            )
        self.report.statuses.update(r.status for r in new)
        db.executemany(self.conn, _BULK_SUBSCRIBERS, rows)
        for part in _batches([r.email for r in new]):
            sql = (
                "INSERT INTO subscriber_events (subscriber_id, kind, via, at, detail) "  # noqa: S608
                f"SELECT id, 'imported', {db.marks(self.conn, 2)}, status "
                f"FROM subscribers WHERE email IN ({db.marks(self.conn, len(part))})"
            )
            self.conn.exec_driver_sql(sql, (self.via, now_db, *part))
        if stops:
            self.suppressions.add_many(self.session, stops, via=self.via)
            self.any_suppressed = True
        self.report.outcomes["added"] += len(new)
        added = self.report.outcomes["added"]
        if self.analyze and added >= max(ANALYZE_FROM, 2 * self.analyzed_at):
            self.conn.exec_driver_sql("ANALYZE subscribers")
            self.analyzed_at = added

    def _db(self, value: datetime | None) -> Any:
        if value is None:
            return None
        return self.to_db(value) if self.to_db else value


def _batches(values: list[str], size: int = 900) -> Iterator[list[str]]:
    """Slices small enough for SQLite's limit on bound parameters."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
