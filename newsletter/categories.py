"""Category names and their URL slugs: one name per slug, so every category has one address.

Names are stored lower-case on each tip (``Tip.categories``). A new name whose slug is already
taken by another name (``phone skills`` and ``phone-skills``) is folded into the existing one
when it is written, so the slug ↔ name mapping stays one-to-one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import TextClause, select, text
from sqlalchemy.orm import Session

from newsletter.models import Tip
from newsletter.tipfiles import slugify

PUBLIC = ("sent", "archived")


def slug(name: str) -> str:
    """``Phone Skills`` → ``phone-skills``; a name with no Latin letters gets a stable hash."""
    return slugify(name) or "category-" + hashlib.sha1(name.encode()).hexdigest()[:10]  # noqa: S324 (a name, not a secret)


class Names:
    """The category names in use, for folding new names into existing ones."""

    def __init__(self, session: Session) -> None:
        self.by_slug: dict[str, str] = {}
        for names in session.scalars(select(Tip.categories)):
            for name in names or ():
                self.by_slug.setdefault(slug(name), name)

    def canonical(self, names: Iterable[str]) -> list[str]:
        """``names`` with each one replaced by the name already using its slug."""
        out: list[str] = []
        for name in names:
            known = self.by_slug.setdefault(slug(name), name)
            if known not in out:
                out.append(known)
        return out


# The JSON list of names, unnested by each database's own function (no scan in Python).
_COUNTS = {
    "sqlite": "SELECT json_each.value, count(*) FROM tips, json_each(tips.categories) "
    "WHERE tips.status IN ('sent', 'archived') GROUP BY json_each.value",
    "postgresql": "SELECT name, count(*) FROM tips, "
    "jsonb_array_elements_text(CAST(tips.categories AS jsonb)) AS name "
    "WHERE tips.status IN ('sent', 'archived') GROUP BY name",
}
_HAS = {
    "sqlite": "EXISTS (SELECT 1 FROM json_each(tips.categories) WHERE json_each.value = :name)",
    "postgresql": "CAST(tips.categories AS jsonb) ? :name",
}


def counts(session: Session) -> list[tuple[str, str, int]]:
    """``(name, slug, number of public tips)`` for every category in the archive, by name."""
    rows = session.execute(text(_COUNTS[session.get_bind().dialect.name]))
    return [(str(name), slug(str(name)), int(n)) for name, n in sorted(rows)]


def has(session: Session, name: str) -> TextClause:
    """A WHERE clause: the tip is in category ``name``."""
    return text(_HAS[session.get_bind().dialect.name]).bindparams(name=name)


def name_for(session: Session, category_slug: str) -> str | None:
    """The category name behind a slug, if any public tip uses it."""
    return next((name for name, s, _ in counts(session) if s == category_slug), None)
