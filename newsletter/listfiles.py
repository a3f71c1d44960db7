"""Subscriber list files: reading what other services export, and writing our own backup.

Reading: UTF-8 (with or without BOM) or UTF-16 with a BOM (Excel's "Unicode text"); the
delimiter sniffed from the header (comma, semicolon, tab; Excel's ``sep=;`` first line is
honoured); the header's columns mapped to our fields by the names Mailchimp, Substack,
Buttondown, Kit, MailPoet and spreadsheets use, or by ``--map``.

Writing: every field of every subscriber, exactly (``export``), or with cells that a
spreadsheet would run as a formula neutralised (``--spreadsheet``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy.orm import Session

from newsletter.errors import InputError
from newsletter.subscribers import iter_subscribers, subscriber_record

# Our export, in this order; importing it restores every row exactly.
EXPORT_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "status",
    "source",
    "created_at",
    "subscribed_at",
    "confirmed_at",
    "unsubscribed_at",
    "consent",
)
# Fields an import understands; the last ones feed the status and the consent record.
FIELDS = (
    *EXPORT_COLUMNS,
    "name",
    "optin_ip",
    "confirm_ip",
    "unsub_time",
    "clean_time",
    "email_disabled",
)

# Header names as services write them, compared without case, spaces or punctuation.
_ALIASES = {
    "email": (
        "email emailaddress mail e-mail emailaddr email1value subscriberemail "
        "useremail courriel correoelectronico epost"
    ),
    "first_name": "firstname fname first givenname forename vorname prenom nombre fornamn",
    "last_name": "lastname lname last surname familyname nachname nom apellido efternamn",
    "name": "name fullname displayname subscribername yourname namn",
    "status": "status state subscriberstatus subscribertype type subscriptionstatus",
    "source": "source",
    "created_at": "createdat created creationdate datecreated createdon",
    "subscribed_at": (
        "subscribedat optintime subscribed datesubscribed subscribedon signupdate subscriptiondate"
    ),
    "confirmed_at": "confirmedat confirmtime confirmed confirmedon confirmationdate",
    "unsubscribed_at": "unsubscribedat unsubscribed unsubscribedon",
    "unsub_time": "unsubtime",
    "clean_time": "cleantime",
    "consent": "consent",
    "optin_ip": "optinip subscribedip signupip ipaddress ip",
    "confirm_ip": "confirmip confirmedip",
    "email_disabled": "emaildisabled",
}
ALIASES = {alias: f for f, words in _ALIASES.items() for alias in words.split()}

# Status words of the services we import from, to ours.
STATUS_WORDS = {
    "active": "active",
    "subscribed": "active",
    "subscriber": "active",
    "regular": "active",
    "premium": "active",
    "paid": "active",
    "gifted": "active",
    "churning": "active",
    "confirmed": "active",
    "enabled": "active",
    "pending": "pending",
    "unconfirmed": "pending",
    "unactivated": "pending",
    "inactive": "pending",
    "unsubscribed": "unsubscribed",
    "cancelled": "unsubscribed",
    "canceled": "unsubscribed",
    "removed": "unsubscribed",
    "optedout": "unsubscribed",
    "disabled": "unsubscribed",
    "bounced": "bounced",
    "cleaned": "bounced",
    "undeliverable": "bounced",
    "spammy": "bounced",
    "hardbounce": "bounced",
    "complained": "complained",
    "complaint": "complained",
    "spam": "complained",
    "spamcomplaint": "complained",
}
_FORMULA_START = ("=", "+", "-", "@")


def header_key(name: str) -> str:
    """A header compared without case, spaces or punctuation (``E-Mail`` → ``email``)."""
    return re.sub(r"[\W_]+", "", name.casefold())


@dataclass(frozen=True)
class ListFile:
    """A list file opened for import: its header, its mapping, and its rows."""

    path: Path
    header: list[str]
    delimiter: str
    columns: dict[str, int]  # field -> column index
    ignored: list[str]
    text: str
    skip_lines: int  # lines before the header (Excel's sep= line)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number where it starts, fields) of each non-empty data row."""
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        next(reader)
        last = reader.line_num
        for fields in reader:
            if any(f.strip() for f in fields):
                yield last + 1 + self.skip_lines, fields
            last = reader.line_num

    def mapping(self) -> list[tuple[str, str]]:
        """(column, field) pairs as chosen, in column order."""
        chosen = {index: f for f, index in self.columns.items()}
        return [(self.header[i], chosen[i]) for i in sorted(chosen)]

    @property
    def kind(self) -> str:
        """What the file looks like it came from (for the report)."""
        keys = {header_key(h) for h in self.header}
        if tuple(header_key(h) for h in self.header) == tuple(
            header_key(c) for c in EXPORT_COLUMNS
        ):
            return "a newsletter export (restored exactly)"
        if "leid" in keys or "memberrating" in keys:
            if "cleantime" in keys:
                return "a Mailchimp cleaned export (imported as bounced)"
            if "unsubtime" in keys:
                return "a Mailchimp unsubscribed export (imported as unsubscribed)"
            return "a Mailchimp audience export"
        if "activesubscription" in keys:
            return "a Substack export"
        if "emailaddress" in keys and "state" in keys:
            return "a Kit (ConvertKit) export"
        if "subscribertype" in keys or "creationdate" in keys:
            return "a Buttondown export"
        if "subscribedip" in keys:
            return "a MailPoet export"
        return "a spreadsheet"


def open_list(path: Path, overrides: str = "") -> ListFile:
    """Read and map a list file; ``InputError`` naming the file when it cannot be used."""
    text = decode(path)
    skip = 0
    first_line = text.split("\n", 1)[0].strip()
    if re.fullmatch(r"sep=.", first_line):
        delimiter = first_line[-1]
        text = text.split("\n", 1)[1] if "\n" in text else ""
        skip = 1
    else:
        delimiter = sniff_delimiter(first_line)
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except StopIteration:
        raise InputError(
            f"{path}: the file is empty; it needs a header row (e.g. 'email,first_name')"
        ) from None
    columns, ignored = map_columns(header, overrides, path)
    return ListFile(path, header, delimiter, columns, ignored, text, skip)


def decode(path: Path) -> str:
    """The file's text: UTF-16 with a BOM, else UTF-8 with or without one."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{path}: starts like UTF-16 but is not; save it as UTF-8") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}: not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}); save it as "
            "UTF-8 (in Excel: Save As, 'CSV UTF-8')"
        ) from None


def sniff_delimiter(header_line: str) -> str:
    """Comma, semicolon or tab: whichever the header line has most of (comma on a tie)."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def map_columns(
    header: Sequence[str], overrides: str, path: Path
) -> tuple[dict[str, int], list[str]]:
    """Which column holds which field: ``--map`` first, then the known names; the rest ignored."""
    forced = parse_map(overrides)
    keys = [h.strip().casefold() for h in header]
    columns: dict[str, int] = {}
    taken: set[int] = set()
    for column, target in forced.items():
        if column not in keys:
            raise InputError(
                f"{path}: --map names a column {column!r} that is not in the header "
                f"(found: {', '.join(header)})"
            )
        index = keys.index(column)
        taken.add(index)
        if target:
            columns[target] = index
    for index, name in enumerate(header):
        known = ALIASES.get(header_key(name))
        if index in taken or known is None or known in columns:
            continue
        columns[known] = index
        taken.add(index)
    if "email" not in columns:
        raise InputError(
            f"{path}: line 1: no email column in the header (found: {', '.join(header)}); "
            'name it with --map, e.g. --map "Adresse=email"'
        )
    ignored = [h for i, h in enumerate(header) if i not in columns.values() and h.strip()]
    return columns, ignored


def parse_map(text: str) -> dict[str, str]:
    """``"Email Address=email,Vorname=first_name"`` → {column (casefolded): field};
    an empty field (``"Type="``) ignores that column."""
    out: dict[str, str] = {}
    for part in (p for p in text.split(",") if p.strip()):
        column, eq, target = part.partition("=")
        target = target.strip()
        if not eq or not column.strip():
            raise InputError(f"--map: {part.strip()!r} is not COLUMN=FIELD")
        if target and target not in FIELDS:
            raise InputError(
                f"--map: unknown field {target!r} for column {column.strip()!r}; "
                f"fields are {', '.join(FIELDS)}"
            )
        out[column.strip().casefold()] = target
    return out


def parse_time(text: str, what: str) -> datetime | None:
    """An ISO 8601 or ``YYYY-MM-DD HH:MM:SS`` time (UTC unless it says otherwise); empty is None."""
    value = text.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" UTC", ""))
    except ValueError:
        raise InputError(
            f"{what} {value!r} is not a date and time (use e.g. 2024-03-01 09:30:00)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def status_word(value: str) -> str | None:
    """Our status for a service's status word; None if the word is unknown."""
    return STATUS_WORDS.get(header_key(value))


def export_csv(session: Session, out: TextIO, *, spreadsheet: bool = False) -> int:
    """Write every subscriber, every field, as CSV; returns the count.

    The plain form is exact, for ``import`` to restore. ``spreadsheet`` prefixes any cell that
    begins with ``= + - @`` with an apostrophe, so a spreadsheet shows it instead of running it.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for subscriber in iter_subscribers(session):
        record = subscriber_record(subscriber)
        cells = ["" if record[c] is None else str(record[c]) for c in EXPORT_COLUMNS]
        if spreadsheet:
            cells = [neutralise(cell) for cell in cells]
        writer.writerow(cells)
        count += 1
    return count


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, made text (OWASP's CSV injection advice)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell
