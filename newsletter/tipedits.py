"""Editing stored tips from their files: `tips update` and `tips sync`.

A queued (or skipped, or archived) tip takes its file's title, body, takeaway and categories.
A sent tip's row is what the archive shows, so with ``archive_only`` it is corrected too; the
edition's stored email (what subscribers got) is never touched. A tip keeps its slug (its
address in the archive and its identity for `tips import`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import tips
from newsletter.categories import Names
from newsletter.errors import InputError
from newsletter.models import Edition, Tip
from newsletter.tipfiles import TipDraft


@dataclass(frozen=True)
class Change:
    """What an update changed on one tip (empty: nothing)."""

    tip: Tip
    changes: list[str]
    sent_week: str | None = None


@dataclass
class SyncReport:
    changed: list[Change] = field(default_factory=list)
    unchanged: int = 0
    missing: list[str] = field(default_factory=list)


def update(session: Session, ref: str, path: Path | None, *, archive_only: bool = False) -> Change:
    """Re-read one tip from its source file (or ``path``) and store what changed."""
    tip = tips.get_tip(session, ref)
    week = session.scalar(select(Edition.week).where(Edition.tip_id == tip.id))
    if week is not None and not archive_only:
        raise InputError(
            f"tip '{tip.slug}' went out in edition {week}: add --archive-only to correct its "
            "archive page (the email that went out stays as it was sent)"
        )
    source = path or (Path(tip.source_path) if tip.source_path else None)
    if source is None:
        raise InputError(f"tip '{tip.slug}' has no source file (it was imported): name a FILE")
    draft = tips.parse_tip_file(source)
    changes = apply(session, tip, draft, Names(session))
    if path is not None:
        tip.source_path = str(path.resolve())
    session.flush()
    return Change(tip, changes, week)


def sync(session: Session) -> SyncReport:
    """Update every queued tip whose source file changed; all or nothing if a file is bad."""
    report = SyncReport()
    pairs: list[tuple[Tip, Path]] = []
    for tip in tips.list_tips(session):
        source = Path(tip.source_path) if tip.source_path else None
        if source is None or not source.is_file():
            report.missing.append(f"{tip.slug}: {tip.source_path or 'no source file'}")
        else:
            pairs.append((tip, source))
    try:
        drafts = tips.parse_many(path for _, path in pairs) if pairs else []
    except InputError as exc:
        problems = [line for line in str(exc).splitlines() if line != "no tips were added"]
        raise InputError("\n".join([*problems, "no tips were updated"])) from exc
    names = Names(session)
    for (tip, _), draft in zip(pairs, drafts, strict=True):
        changes = apply(session, tip, draft, names)
        if changes:
            report.changed.append(Change(tip, changes))
        else:
            report.unchanged += 1
    session.flush()
    return report


def apply(session: Session, tip: Tip, draft: TipDraft, names: Names) -> list[str]:
    """Copy ``draft`` onto ``tip``; one line per changed field."""
    if draft.date is not None and tip.status in ("queued", "skipped"):
        raise InputError(
            f"{draft.source_path}: 'date' is for back issues; a {tip.status} tip can't take it"
        )
    changes: list[str] = []
    if draft.title != tip.title:
        changes.append(f"title: {tip.title!r} → {draft.title!r}")
        tip.title = draft.title
    if draft.body_md != tip.body_md:
        changes.append(f"body: {_lines_changed(tip.body_md, draft.body_md)}")
        tip.body_md = draft.body_md
    if draft.takeaway != tip.takeaway:
        changes.append("takeaway: " + (repr(draft.takeaway) if draft.takeaway else "removed"))
        tip.takeaway = draft.takeaway
    categories = names.canonical(draft.categories)
    if categories != list(tip.categories):
        added = [f"+{c}" for c in categories if c not in tip.categories]
        removed = [f"-{c}" for c in tip.categories if c not in categories]
        changes.append("categories: " + (" ".join(added + removed) or "new order"))
        tip.categories = categories
    if tip.status == "archived" and draft.date is not None and draft.date != tip.published_on:
        changes.append(f"date: {tip.published_on} → {draft.date}")
        tip.published_on = draft.date
    return changes


def _lines_changed(old: str, new: str) -> str:
    diff = difflib.ndiff(old.splitlines(), new.splitlines())
    n = sum(1 for line in diff if line[:1] in "+-")
    return f"{n} line{'s' if n != 1 else ''} changed"
