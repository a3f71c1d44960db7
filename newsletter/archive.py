"""The public archive: sent and archived tips, newest first, by page, category or search.

Queued and skipped tips never appear. A tip's date is ``published_on``: a back issue's
original date, or the day its edition went out (in the configured zone, as its email said).
Search goes through ``search`` alone: SQLite's FTS5 table or PostgreSQL's tsvector column,
both made by migration 0005 and kept up to date by the database itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, TextClause, func, select, text
from sqlalchemy.orm import Session

from newsletter import categories
from newsletter.config import Settings
from newsletter.htmlmd import safe_html
from newsletter.images import render_body
from newsletter.models import Edition, Tip
from newsletter.plaintext import markdown_to_text
from newsletter.render import markdown

PER_PAGE = 10
EXCERPT_WORDS = 50
MAX_TERMS = 12
PUBLIC = categories.PUBLIC


@dataclass(frozen=True)
class Entry:
    tip: Tip

    @property
    def day(self) -> date:
        """The date the tip shows."""
        return self.tip.published_on or self.tip.created_at.date()

    @property
    def short_date(self) -> str:
        """``1/27/26``, as on the old archive pages."""
        return f"{self.day.month}/{self.day.day}/{self.day:%y}"


@dataclass(frozen=True)
class Listing:
    """One page of entries, and how many pages there are."""

    entries: list[Entry]
    page: int
    pages: int
    total: int


def listing(session: Session, page: int, category: str | None = None) -> Listing:
    """Page ``page`` (from 1) of every public tip, or of one category's (by name)."""
    shown: list[ColumnElement[bool] | TextClause] = [Tip.status.in_(PUBLIC)]
    if category is not None:
        shown.append(categories.has(session, category))
    total = session.scalar(select(func.count()).select_from(Tip).where(*shown)) or 0
    query = select(Tip).where(*shown).order_by(Tip.published_on.desc(), Tip.id.desc())
    tips = list(session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    return Listing([Entry(t) for t in tips], page, _pages(total), total)


def search(session: Session, query: str, page: int) -> Listing:
    """Public tips whose title or body has every word of ``query``, best matches first."""
    words = terms(query)
    if not words:
        return Listing([], page, 1, 0)
    if session.get_bind().dialect.name == "postgresql":
        sql = text(
            "SELECT id FROM tips WHERE status IN ('sent', 'archived') "
            "AND search_vector @@ plainto_tsquery('english', :q) "
            "ORDER BY ts_rank(search_vector, plainto_tsquery('english', :q)) DESC, "
            "published_on DESC, id DESC"
        )
        ids = list(session.scalars(sql, {"q": " ".join(words)}))
    else:
        sql = text(
            "SELECT tips.id FROM tips_fts JOIN tips ON tips.id = tips_fts.rowid "
            "WHERE tips_fts MATCH :q AND tips.status IN ('sent', 'archived') "
            "ORDER BY bm25(tips_fts, 10.0, 1.0), tips.published_on DESC, tips.id DESC"
        )
        ids = list(session.scalars(sql, {"q": " ".join(f'"{w}"' for w in words)}))
    return _by_ids(session, ids, page)


def terms(query: str) -> list[str]:
    """The words of a search, as both engines take them (punctuation and operators dropped)."""
    return re.findall(r"\w+", query.lower())[:MAX_TERMS]


def find(session: Session, slug: str) -> Entry | None:
    """One public tip by slug; None for unknown, queued or skipped ones."""
    tip = session.scalars(select(Tip).where(Tip.slug == slug, Tip.status.in_(PUBLIC))).first()
    return Entry(tip) if tip else None


def latest(session: Session, count: int = 20) -> list[tuple[Entry, datetime | None]]:
    """The newest public tips, each with the moment its edition went out (None: a back issue)."""
    rows = session.execute(
        select(Tip, Edition.sent_at)
        .outerjoin(Edition, Edition.tip_id == Tip.id)
        .where(Tip.status.in_(PUBLIC))
        .order_by(Tip.published_on.desc(), Tip.id.desc())
        .limit(count)
    )
    return [(Entry(tip), sent_at) for tip, sent_at in rows]


def version(session: Session) -> tuple[object, ...]:
    """What changes whenever anything the archive shows changes: how many tips there are, the
    highest id, and the newest ``updated_at`` (set by every write through the models). A tip
    sent, archived, imported, edited or removed changes it; so does a queued tip's edit, which
    only costs a re-render."""
    row = session.execute(select(func.count(), func.max(Tip.id), func.max(Tip.updated_at))).one()
    return tuple(row)


def excerpt(tip: Tip, words: int = EXCERPT_WORDS) -> str:
    """The first ``words`` words of the tip as plain text."""
    plain = markdown_to_text(markdown(True), tip.body_md[:4000], width=10_000)
    flat = " ".join(re.sub(r"<[^>]*>", "", plain).replace("\\\n", " ").split())
    parts = flat.split(" ")
    return flat if len(parts) <= words else " ".join(parts[:words]) + " …"


def _by_ids(session: Session, ids: list[int], page: int) -> Listing:
    # Search results: ids in rank order, one page of them loaded.
    shown = ids[(page - 1) * PER_PAGE : page * PER_PAGE]
    found = {t.id: t for t in session.scalars(select(Tip).where(Tip.id.in_(shown)))}
    return Listing([Entry(found[i]) for i in shown], page, _pages(len(ids)), len(ids))


def _pages(total: int) -> int:
    return max(1, -(-total // PER_PAGE))


def body_html(settings: Settings, tip: Tip) -> str:
    """The tip's body for its page. A back issue may hold HTML kept from the old site: it is
    allowed through markdown-it and then sanitised (nh3), whatever ``allow_html`` says."""
    if tip.status == "archived":
        return safe_html(render_body(markdown(True), settings, tip.body_md))
    return render_body(markdown(settings.newsletter.allow_html), settings, tip.body_md)
