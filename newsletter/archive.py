"""The public archive: tips that went out, newest first (queued tips never appear)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.models import Edition, Tip
from newsletter.plaintext import markdown_to_text
from newsletter.render import markdown
from newsletter.weeks import IsoWeek

PER_PAGE = 10
EXCERPT_WORDS = 50


@dataclass(frozen=True)
class Entry:
    tip: Tip
    sent_on: date

    @property
    def short_date(self) -> str:
        """``1/27/26``, as on the archive pages."""
        return f"{self.sent_on.month}/{self.sent_on.day}/{self.sent_on:%y}"


def entries(session: Session, settings: Settings, category: str | None = None) -> list[Entry]:
    """Every sent tip with the day its edition was due, newest first."""
    rows = session.execute(
        select(Tip, Edition.week)
        .join(Edition, Edition.tip_id == Tip.id)
        .where(Tip.status == "sent")
        .order_by(Edition.week.desc())
    ).all()
    found = [Entry(tip, IsoWeek.parse(week).day(settings.schedule.day)) for tip, week in rows]
    if category is not None:
        found = [e for e in found if category.lower() in e.tip.categories]
    return found


def find(session: Session, settings: Settings, slug: str) -> Entry | None:
    """One sent tip by slug; None for unknown or unsent ones."""
    return next((e for e in entries(session, settings) if e.tip.slug == slug), None)


def excerpt(tip: Tip, words: int = EXCERPT_WORDS) -> str:
    """The first ``words`` words of the tip as plain text."""
    text = " ".join(markdown_to_text(markdown(False), tip.body_md, width=10_000).split())
    parts = text.split(" ")
    return text if len(parts) <= words else " ".join(parts[:words]) + " …"


def page(items: list[Entry], number: int) -> tuple[list[Entry], bool]:
    """Page ``number`` (from 1) and whether an older page follows."""
    start = (number - 1) * PER_PAGE
    return items[start : start + PER_PAGE], len(items) > start + PER_PAGE
