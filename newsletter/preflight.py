"""Pre-flight: the checks a tip passes before it goes out, on the message as it would be sent.

Each check has a level: ``fail`` (`send` refuses unless --force; `check` exits 1), ``warn``
(shown, not blocking), ``ok``, or ``skip`` (could not run here, e.g. SpamAssassin missing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from html.parser import HTMLParser

from sqlalchemy.orm import Session

from newsletter import editions, images, planning, spam
from newsletter.config import Settings
from newsletter.messages import MessageFactory
from newsletter.models import Tip
from newsletter.names import PersonName
from newsletter.providers.mime import message_bytes
from newsletter.render import render_edition
from newsletter.tokens import Tokens
from newsletter.weeks import IsoWeek, local_date

GMAIL_CLIP_BYTES = 102 * 1024  # Gmail shows "[Message clipped]" past about 102 KB of HTML
SIZE_WARN_BYTES = 90 * 1024
SUBJECT_WARN_CHARS = 78  # longer subjects are cut in most inboxes (phones show ~40-60)
REFUSED = "the send was refused: fix the tip, or send anyway with --force"


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # fail | warn | ok | skip
    detail: str


@dataclass(frozen=True)
class Report:
    """The checks of one tip, as it would go out on ``date``."""

    tip: Tip
    date: date
    subject: str
    checks: list[Check]

    @property
    def failed(self) -> bool:
        return any(c.level == "fail" for c in self.checks)


@dataclass
class Outcome:
    """What `send` shows before it starts a new edition."""

    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def check(
    session: Session, settings: Settings, ref: str | None, now: datetime, *, network: bool = True
) -> Report:
    """Check the next tip to go out (or ``ref``), dated for its planned week."""
    tip, day = planning.dated(session, settings, ref, now)
    return check_tip(settings, tip, day, network=network)


def before_send(
    session: Session, settings: Settings, week: IsoWeek, ref: str | None, now: datetime
) -> Outcome:
    """The checks of the tip a send of ``week`` would start with (none if it exists already)."""
    settings.require_secret_key()
    if editions.find(session, week) is not None:
        return Outcome()
    editions.check_sendable(settings)
    tip = editions.choose_tip(session, ref, week, settings)
    report = check_tip(settings, tip, local_date(settings.schedule, now))
    outcome = Outcome()
    for c in report.checks:
        if c.level == "fail":
            outcome.failures.append(f"check failed: {c.name}: {c.detail}")
        elif c.level == "warn":
            outcome.warnings.append(f"{c.name}: {c.detail}")
    return outcome


def check_tip(settings: Settings, tip: Tip, day: date, *, network: bool = True) -> Report:
    """Render ``tip`` as it would go out on ``day`` and run every check on the message."""
    rendered = render_edition(settings, tip, send_date=day)
    factory = MessageFactory(settings, "check", 0, rendered, Tokens(settings.require_secret_key()))
    message = factory.build(0, 0, "reader@example.com", PersonName("Reader", "Example"))
    found = _Elements()
    found.feed(message.html)
    checks = [
        _size(message.html),
        _subject(message.subject),
        _plain_text(message.text, tip),
        _unsubscribe(dict(message.headers)),
        _alt_text(found.images),
        _images(settings, found, network=network and settings.checks.network),
        _links([_short(h) for h in found.links]),
        Check("spam score", *spam.verdict(settings, message_bytes(message))),
    ]
    return Report(tip, day, message.subject, checks)


def image_problems(settings: Settings, html: str) -> list[str]:
    """Why each image of ``html`` will not load (what `preview` warns about)."""
    found = _Elements()
    found.feed(html)
    sources = list(dict.fromkeys(src for src, _ in found.images))
    return images.problems(settings, sources, network=settings.checks.network)


class _Elements(HTMLParser):
    """The images (src, alt) and link targets of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[tuple[str, str | None]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append((values.get("src") or "", values.get("alt")))
        elif tag == "a" and values.get("href") is not None:
            self.links.append(values.get("href") or "")


def _size(html: str) -> Check:
    size = len(html.encode())
    text = f"{size / 1024:.0f} KB of HTML (Gmail clips past 102 KB)"
    if size >= GMAIL_CLIP_BYTES:
        return Check("size", "fail", text + ": readers would see '[Message clipped]'")
    return Check("size", "warn" if size >= SIZE_WARN_BYTES else "ok", text)


def _subject(subject: str) -> Check:
    if not subject.strip():
        return Check("subject", "fail", "the subject is empty")
    n = len(subject)
    if n > SUBJECT_WARN_CHARS:
        return Check("subject", "warn", f"{n} characters: inboxes cut it near 60-78")
    return Check("subject", "ok", f"{n} characters")


def _plain_text(text: str, tip: Tip) -> Check:
    words = len(text.split())
    if tip.title not in text or words < 20:
        return Check("plain text", "fail", f"the text part has {words} words and lacks the tip")
    return Check("plain text", "ok", f"{words} words")


def _unsubscribe(headers: dict[str, str]) -> Check:
    link = headers.get("List-Unsubscribe", "")
    if not link or headers.get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click":
        return Check("unsubscribe", "fail", "List-Unsubscribe and its one-click Post are missing")
    if not link.startswith("<https://"):
        return Check(
            "unsubscribe",
            "warn",
            f"{_short(link.strip('<>'))} is not https: Gmail and Yahoo want https for one-click "
            "unsubscribe (set base_url to your https address)",
        )
    return Check("unsubscribe", "ok", "List-Unsubscribe (https) with one-click Post")


def _short(url: str) -> str:
    """A recipient's own link (unsubscribe) shown without its token."""
    return re.sub(r"/u/[^/?#]+$", "/u/…", url)


def _alt_text(found: list[tuple[str, str | None]]) -> Check:
    missing = [src for src, alt in found if not (alt or "").strip()]
    if missing:
        return Check("alt text", "warn", "no alt text: " + ", ".join(missing))
    return Check("alt text", "ok", f"{len(found)} images, all with alt text")


def _images(settings: Settings, found: _Elements, *, network: bool) -> Check:
    sources = list(dict.fromkeys(src for src, _ in found.images))
    broken = images.problems(settings, sources, network=network)
    if broken:
        return Check("images", "fail", "; ".join(broken))
    how = "" if network else " (URLs not fetched: offline)"
    return Check("images", "ok", f"{len(sources)} images load{how}")


def _links(links: list[str]) -> Check:
    relative = [h for h in links if images.is_relative(h) and not h.startswith("mailto:")]
    plain = sorted({h for h in links if h.startswith("http://")})
    if relative:
        return Check(
            "links", "fail", "relative links go nowhere in an email: " + ", ".join(relative)
        )
    if plain:
        return Check("links", "warn", "not https: " + ", ".join(plain))
    return Check("links", "ok", f"{len(links)} links, all https")
