"""Tip files (YAML front matter + Markdown) and the queue of tips waiting to be sent.

The queue has an explicit order: queued tips hold positions 1..n without gaps; a tip that is
sent or skipped leaves the queue (its position becomes NULL) and the rest close ranks.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.errors import InputError
from newsletter.models import Edition, Tip
from newsletter.textfiles import read_utf8

FRONT_MATTER_KEYS = ("title", "categories", "takeaway", "slug")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class TipDraft:
    """A parsed, valid tip file, not yet in the database."""

    title: str
    body_md: str
    slug: str
    takeaway: str = ""
    categories: tuple[str, ...] = ()
    source_path: str = ""


@dataclass
class ImportReport:
    added: list[Tip] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)


def slugify(text: str) -> str:
    """``"While I've Got You on the Phone…"`` → ``"while-ive-got-you-on-the-phone"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = re.sub(r"['’]", "", ascii_text.lower())
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:200].rstrip("-")


def parse_tip_file(path: Path) -> TipDraft:
    """Read and validate one tip file; ``InputError`` names the file and what is wrong."""
    text = read_utf8(path)
    return parse_tip_text(text, str(path))


def parse_tip_text(text: str, source: str) -> TipDraft:
    """Validate a tip's text; ``source`` names it in errors."""
    if not text.lstrip().startswith("---"):
        raise InputError(
            f"{source}: no front matter: start the file with a '---' block holding 'title:'"
        )
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: front matter is not valid YAML: {_yaml_reason(exc)}") from None
    meta: dict[str, Any] = dict(post.metadata)
    unknown = [k for k in meta if k not in FRONT_MATTER_KEYS]
    if unknown:
        key = str(unknown[0])
        close = difflib.get_close_matches(key, FRONT_MATTER_KEYS, n=1)
        hint = (
            f" (did you mean '{close[0]}'?)"
            if close
            else f" (allowed: {', '.join(FRONT_MATTER_KEYS)})"
        )
        raise InputError(f"{source}: front matter has unknown key '{key}'{hint}")
    title = _text_field(meta, "title", source)
    if not title:
        raise InputError(f"{source}: front matter needs a 'title'")
    body = post.content.strip()
    if not body:
        raise InputError(f"{source}: the tip has no body below the front matter")
    slug = _text_field(meta, "slug", source) or slugify(title)
    if not _SLUG.match(slug):
        raise InputError(
            f"{source}: slug {slug!r} must be lower-case letters, digits and single hyphens"
        )
    return TipDraft(
        title=title,
        body_md=body + "\n",
        slug=slug,
        takeaway=_text_field(meta, "takeaway", source),
        categories=_categories(meta.get("categories"), source),
        source_path=source,
    )


def _yaml_reason(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    # python-frontmatter hands YAML the text from the end of the opening '---' on, so the
    # 0-based line in the mark is the file's 1-based line.
    return f"{problem} (line {mark.line + 1})" if mark is not None else str(problem)


def _text_field(meta: dict[str, Any], key: str, source: str) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip()
    raise InputError(f"{source}: front matter '{key}' must be text, got {type(value).__name__}")


def _categories(value: Any, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise InputError(
            f"{source}: front matter 'categories' must be a list of names, e.g. [empathy]"
        )
    return tuple(dict.fromkeys(i.strip().lower() for i in items))


def parse_many(paths: Iterable[Path]) -> list[TipDraft]:
    """Parse every file; if any is bad, raise one ``InputError`` that lists each bad file."""
    drafts, problems = [], []
    for path in paths:
        try:
            drafts.append(parse_tip_file(path))
        except InputError as exc:
            problems.append(str(exc))
    seen: dict[str, str] = {}
    for draft in drafts:
        if draft.slug in seen:
            problems.append(
                f"{draft.source_path}: duplicate slug '{draft.slug}' (also in {seen[draft.slug]})"
            )
        seen.setdefault(draft.slug, draft.source_path)
    if problems:
        raise InputError("\n".join([*problems, "no tips were added"]))
    return drafts


def add_tips(session: Session, paths: Sequence[Path]) -> list[Tip]:
    """Queue the tips in ``paths``, at the end, in order: all of them or none."""
    drafts = parse_many(paths)
    taken = _existing_slugs(session, [d.slug for d in drafts])
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
    taken = _existing_slugs(session, [d.slug for d in drafts])
    report = ImportReport(already_present=[d.slug for d in drafts if d.slug in taken])
    report.added = _insert(session, [d for d in drafts if d.slug not in taken])
    return report


def _existing_slugs(session: Session, slugs: list[str]) -> set[str]:
    if not slugs:
        return set()
    return set(session.scalars(select(Tip.slug).where(Tip.slug.in_(slugs))))


def _insert(session: Session, drafts: Sequence[TipDraft]) -> list[Tip]:
    position = queue_length(session)
    tips = []
    for draft in drafts:
        position += 1
        tip = Tip(
            slug=draft.slug,
            title=draft.title,
            body_md=draft.body_md,
            takeaway=draft.takeaway,
            categories=list(draft.categories),
            position=position,
            status="queued",
            source_path=draft.source_path,
        )
        session.add(tip)
        tips.append(tip)
    session.flush()
    return tips


def queue_length(session: Session) -> int:
    """How many tips are waiting."""
    return session.scalar(select(func.count()).select_from(Tip).where(Tip.status == "queued")) or 0


def list_tips(session: Session, *, include_all: bool = False) -> list[Tip]:
    """The queue in order; with ``include_all`` the sent and skipped tips follow it."""
    queued = list(
        session.scalars(select(Tip).where(Tip.status == "queued").order_by(Tip.position, Tip.id))
    )
    if not include_all:
        return queued
    rest = session.scalars(select(Tip).where(Tip.status != "queued").order_by(Tip.id))
    return queued + list(rest)


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


def skip_tip(session: Session, ref: str) -> Tip:
    """Take a tip out of the queue without sending it."""
    tip = _queued(session, ref, "skipped")
    tip.status, tip.position = "skipped", None
    _renumber(t for t in list_tips(session) if t.id != tip.id)
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


def mark_sent(session: Session, tip: Tip) -> None:
    """Take a tip out of the queue as sent (in the edition's transaction)."""
    tip.status, tip.position = "sent", None
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
