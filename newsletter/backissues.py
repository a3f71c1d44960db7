"""Back issues from an old site: a WordPress export (WXR) or an RSS/Atom feed, stored as
``archived`` tips (shown in the archive and feed by their original date, never emailed).

The XML is parsed with defusedxml (no DTDs, no entities: an XML bomb is refused before any
expansion). Only published posts are taken; attachments, pages, menus and drafts are counted
and left. A post whose slug is already in the database is skipped, so a re-run adds nothing
twice. Everything is read and converted first; then all new posts are stored in one go.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from time import struct_time
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
import feedparser
from defusedxml import DefusedXmlException
from sqlalchemy.orm import Session

from newsletter import tips
from newsletter.categories import Names
from newsletter.errors import InputError
from newsletter.htmlmd import DEFAULT_FOOTERS, to_markdown
from newsletter.models import Tip
from newsletter.tipfiles import SLUG_PATTERN, slugify

WP = "{http://wordpress.org/export/"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
SKIPPED_CATEGORIES = ("uncategorized",)


@dataclass(frozen=True)
class Post:
    """One published post, read from the file, its HTML not yet converted."""

    title: str
    slug: str
    day: date
    categories: tuple[str, ...]
    html: str
    where: str  # for messages: "item 12" or the post's link


@dataclass
class ArchiveReport:
    added: list[Tip] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "item 12: no date"
    ignored: dict[str, int] = field(default_factory=dict)  # "attachment": 40, "draft": 3


def read_posts(path: Path, report: ArchiveReport) -> list[Post]:
    """The published posts in a WXR file or an RSS/Atom feed; one clear error otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InputError(
            f"{path}: refused: the XML declares a DTD or entities ({type(exc).__name__}), "
            "which a WordPress export or a feed never needs (a possible XML bomb); nothing imported"
        ) from None
    except ParseError as exc:
        line, column = exc.position
        raise InputError(
            f"{path}: not XML (line {line}, column {column + 1}): {_reason(exc)}; nothing imported"
        ) from None
    channel = root.find("channel")
    if root.tag == "rss" and channel is not None and _is_wxr(channel):
        return list(_wxr_posts(channel, report))
    if root.tag in ("rss", "{http://www.w3.org/2005/Atom}feed") or root.tag.endswith("}RDF"):
        return list(_feed_posts(data, report))
    raise InputError(
        f"{path}: not a WordPress export or an RSS/Atom feed (its root element is <{root.tag}>)"
    )


def import_posts(
    session: Session,
    posts: list[Post],
    report: ArchiveReport,
    *,
    footers: tuple[str, ...] = DEFAULT_FOOTERS,
    advance: Callable[[int], None] = lambda n: None,
) -> ArchiveReport:
    """Convert and store the posts not present yet, as archived tips."""
    present = tips.existing_slugs(session, [p.slug for p in posts])
    names = Names(session)
    seen: set[str] = set()
    for post in posts:
        advance(1)
        if post.slug in present or post.slug in seen:
            report.already_present.append(post.slug)
            continue
        body = to_markdown(post.html, footers)
        if not body.strip():
            report.skipped.append(f"{post.where} ({post.title}): no text once the footer is cut")
            continue
        seen.add(post.slug)
        tip = Tip(
            slug=post.slug,
            title=post.title,
            body_md=body,
            takeaway="",
            categories=names.canonical(post.categories),
            position=None,
            status="archived",
            source_path="",
            published_on=post.day,
        )
        session.add(tip)
        report.added.append(tip)
    session.flush()
    return report


def _is_wxr(channel: Element) -> bool:
    return any(child.tag.startswith(WP) for child in channel)


def _wp(item: Element, name: str) -> str:
    for child in item:
        if child.tag.startswith(WP) and child.tag.endswith("}" + name):
            return (child.text or "").strip()
    return ""


def _wxr_posts(channel: Element, report: ArchiveReport) -> Iterator[Post]:
    for number, item in enumerate(channel.iter("item"), start=1):
        kind, status = _wp(item, "post_type") or "post", _wp(item, "status")
        if kind != "post":
            report.ignored[kind] = report.ignored.get(kind, 0) + 1
            continue
        if status != "publish":
            report.ignored[status or "no status"] = report.ignored.get(status or "no status", 0) + 1
            continue
        where = f"item {number}"
        title = html.unescape(item.findtext("title") or "").strip()
        day = _wp_date(_wp(item, "post_date"))
        if not title or day is None:
            report.skipped.append(f"{where}: no {'title' if not title else 'date'}")
            continue
        categories = tuple(
            html.unescape(c.text or "").strip().lower()
            for c in item.findall("category")
            if c.get("domain") == "category" and (c.text or "").strip()
        )
        yield Post(
            title=title,
            slug=_slug(_wp(item, "post_name"), title),
            day=day,
            categories=tuple(c for c in categories if c not in SKIPPED_CATEGORIES),
            html=item.findtext(CONTENT) or "",
            where=where,
        )


def _feed_posts(data: bytes, report: ArchiveReport) -> Iterator[Post]:
    parsed = feedparser.parse(data)
    for number, entry in enumerate(parsed.entries, start=1):
        where = f"entry {number}"
        title = html.unescape(str(entry.get("title", ""))).strip()
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        if not title or not isinstance(when, struct_time):
            report.skipped.append(f"{where}: no {'title' if not title else 'date'}")
            continue
        content = entry.get("content") or []
        body = str(content[0].get("value", "")) if content else str(entry.get("summary", ""))
        link_slug = urlsplit(str(entry.get("link", ""))).path.rstrip("/").rsplit("/", 1)[-1]
        categories = tuple(
            str(t.get("term", "")).strip().lower() for t in entry.get("tags", []) if t.get("term")
        )
        yield Post(
            title=title,
            slug=_slug(link_slug, title),
            day=date(when.tm_year, when.tm_mon, when.tm_mday),
            categories=tuple(c for c in categories if c not in SKIPPED_CATEGORIES),
            html=body,
            where=where,
        )


def _slug(given: str, title: str) -> str:
    """The old post's slug (its old address) when it is a clean one, else from the title."""
    return given if SLUG_PATTERN.match(given) else slugify(title) or "tip"


def _wp_date(text: str) -> date | None:
    try:
        return datetime.strptime(text[:10], "%Y-%m-%d").date()
    except ValueError:
        return None


def _reason(exc: ParseError) -> str:
    return re.sub(r":? line \d+, column \d+$", "", str(exc))
