"""The tips in the database: the queue of tips waiting to be sent, and the rest on record.

The queue has an explicit order: queued tips hold positions 1..n without gaps; a tip that is
sent or skipped leaves the queue (its position becomes NULL) and the rest close ranks. A tip
file with ``date:`` is a back issue: stored ``archived`` (shown in the archive, never emailed).
Which week each queued tip goes out in is ``planning``'s business.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.categories import Names
from newsletter.errors import InputError
from newsletter.models import Edition, Tip
from newsletter.tipfiles import (
    FRONT_MATTER_KEYS,
    TipDraft,
    parse_many,
    parse_tip_file,
    parse_tip_text,
    slugify,
)

__all__ = [
    "FRONT_MATTER_KEYS",
    "ImportReport",
    "TipDraft",
    "parse_many",
    "parse_tip_file",
    "parse_tip_text",
    "slugify",
]


@dataclass
class ImportReport:
    added: list[Tip] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)


def add_tips(session: Session, paths: Sequence[Path]) -> list[Tip]:
    """Queue the tips in ``paths``, at the end, in order: all of them or none."""
    return add_drafts(session, parse_many(paths))


def add_drafts(session: Session, drafts: Sequence[TipDraft]) -> list[Tip]:
    """Queue parsed tips at the end, in order (a back issue goes to the archive): all or none."""
    taken = existing_slugs(session, [d.slug for d in drafts])
    clashes = [
        f"{d.source_path}: duplicate slug '{d.slug}' (already queued or sent)"
        for d in drafts
        if d.slug in taken
    ]
    if clashes:
        raise InputError("\n".join([*clashes, "no tips were added"]))
    return _insert(session, drafts)


def import_dir(session: Session, directory: Path) -> ImportReport:
    """Queue every ``*.md`` in ``directory`` (by file name); tips already present are skipped."""
    if not directory.is_dir():
        raise InputError(f"{directory}: not a folder")
    paths = sorted(directory.glob("*.md"))
    if not paths:
        raise InputError(f"{directory}: no .md tip files in this folder")
    drafts = parse_many(paths)
    taken = existing_slugs(session, [d.slug for d in drafts])
    report = ImportReport(already_present=[d.slug for d in drafts if d.slug in taken])
    report.added = _insert(session, [d for d in drafts if d.slug not in taken])
    return report


def existing_slugs(session: Session, slugs: list[str]) -> set[str]:
    """Which of ``slugs`` some tip already has."""
    if not slugs:
        return set()
    return set(session.scalars(select(Tip.slug).where(Tip.slug.in_(slugs))))


def _insert(session: Session, drafts: Sequence[TipDraft]) -> list[Tip]:
    position = queue_length(session)
    names = Names(session)
    tips = []
    for draft in drafts:
        archived = draft.date is not None
        position += 0 if archived else 1
        tip = Tip(
            slug=draft.slug,
            title=draft.title,
            body_md=draft.body_md,
            takeaway=draft.takeaway,
            categories=names.canonical(draft.categories),
            position=None if archived else position,
            status="archived" if archived else "queued",
            source_path=_absolute_path(draft.source_path),
            published_on=draft.date,
        )
        session.add(tip)
        tips.append(tip)
    session.flush()
    return tips


def _absolute_path(source: str) -> str:
    # Absolute, so `tips update` and `tips sync` find the file from any folder.
    return str(Path(source).resolve()) if source else ""


def queue_length(session: Session) -> int:
    """How many tips are waiting."""
    return session.scalar(select(func.count()).select_from(Tip).where(Tip.status == "queued")) or 0


def list_tips(session: Session, *, include_all: bool = False) -> list[Tip]:
    """The queue in order; with ``include_all`` the skipped, sent and archived tips follow it
    (newest first)."""
    queued = list(
        session.scalars(select(Tip).where(Tip.status == "queued").order_by(Tip.position, Tip.id))
    )
    if not include_all:
        return queued
    skipped = session.scalars(select(Tip).where(Tip.status == "skipped").order_by(Tip.id))
    public = session.scalars(
        select(Tip)
        .where(Tip.status.in_(("sent", "archived")))
        .order_by(Tip.published_on.desc(), Tip.id.desc())
    )
    return [*queued, *skipped, *public]


def next_queued(session: Session) -> Tip | None:
    """The tip at the head of the queue."""
    return session.scalars(
        select(Tip).where(Tip.status == "queued").order_by(Tip.position, Tip.id).limit(1)
    ).first()


def get_tip(session: Session, ref: str) -> Tip:
    """A tip by id or slug."""
    tip = None
    if ref.isdigit():
        tip = session.get(Tip, int(ref))
    if tip is None:
        tip = session.scalars(select(Tip).where(Tip.slug == ref)).first()
    if tip is None:
        raise InputError(f"no tip with id or slug '{ref}' (see `newsletter tips list --all`)")
    return tip


def move_tip(session: Session, ref: str, to: int) -> Tip:
    """Put a queued tip at position ``to`` (1 = next to go out); the others close ranks."""
    tip = _queued(session, ref, "moved")
    queue = [t for t in list_tips(session) if t.id != tip.id]
    if not 1 <= to <= len(queue) + 1:
        raise InputError(f"position {to} is out of range: the queue has {len(queue) + 1} tips")
    queue.insert(to - 1, tip)
    _renumber(queue)
    session.flush()
    return tip


def reorder(session: Session, refs: Sequence[str]) -> list[Tip]:
    """Put the whole queue in the order of ``refs`` (ids or slugs, each queued tip once)."""
    queue = list_tips(session)
    ordered = [get_tip(session, ref) for ref in refs]
    if sorted(t.id for t in ordered) != sorted(t.id for t in queue):
        raise InputError(
            "the new order must name every queued tip once; the queue changed meanwhile? "
            "reload and try again"
        )
    _renumber(ordered)
    session.flush()
    return ordered


def skip_tip(session: Session, ref: str) -> Tip:
    """Take a tip out of the queue without sending it (a pin goes with it)."""
    tip = _queued(session, ref, "skipped")
    tip.status, tip.position, tip.pinned_week = "skipped", None, None
    _renumber(t for t in list_tips(session) if t.id != tip.id)
    session.flush()
    return tip


def unskip_tip(session: Session, ref: str) -> Tip:
    """Put a skipped tip back, at the end of the queue."""
    tip = get_tip(session, ref)
    if tip.status != "skipped":
        raise InputError(f"tip '{tip.slug}' is {tip.status}, not skipped, so it can't be unskipped")
    tip.position = queue_length(session) + 1
    tip.status = "queued"
    session.flush()
    return tip


def remove_tip(session: Session, ref: str) -> Tip:
    """Delete a tip that was never sent."""
    tip = get_tip(session, ref)
    week = session.scalar(select(Edition.week).where(Edition.tip_id == tip.id))
    if week is not None:
        raise InputError(f"tip '{tip.slug}' went out in edition {week}; a sent tip stays on record")
    session.delete(tip)
    session.flush()
    _renumber(list_tips(session))
    session.flush()
    return tip


def mark_sent(session: Session, tip: Tip, on: date | None = None) -> None:
    """Take a tip out of the queue as sent (in the edition's transaction), dated ``on``."""
    tip.status, tip.position, tip.pinned_week = "sent", None, None
    tip.published_on = on or tip.published_on
    session.flush()
    _renumber(list_tips(session))


def _queued(session: Session, ref: str, verb: str) -> Tip:
    tip = get_tip(session, ref)
    if tip.status != "queued":
        raise InputError(f"tip '{tip.slug}' is {tip.status}, not queued, so it can't be {verb}")
    return tip


def _renumber(tips: Iterable[Tip]) -> None:
    for position, tip in enumerate(tips, start=1):
        tip.position = position
