"""Tip files: YAML front matter + Markdown, parsed and checked before anything is stored."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from newsletter.errors import InputError
from newsletter.textfiles import read_utf8

FRONT_MATTER_KEYS = ("title", "categories", "takeaway", "slug", "date")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class TipDraft:
    """A parsed, valid tip file, not yet in the database."""

    title: str
    body_md: str
    slug: str
    takeaway: str = ""
    categories: tuple[str, ...] = ()
    source_path: str = ""
    # Only for a back issue: the date it first appeared (the tip is archived, never emailed).
    date: date | None = None


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
    if not SLUG_PATTERN.match(slug):
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
        date=_date(meta.get("date"), source),
    )


def _date(value: Any, source: str) -> date | None:
    """``date: 2019-04-09`` (YAML reads it as a date; a quoted one is parsed here)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value).strip())
        except ValueError:
            raise InputError(
                f"{source}: front matter 'date' must be a date like 2019-04-09, got {value!r}"
            ) from None
    if day > date.today():
        raise InputError(
            f"{source}: front matter 'date' {day} is in the future; 'date' is for back issues "
            "(to plan a send, use `newsletter tips pin`)"
        )
    return day


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
