"""Category names and their URL slugs: one name per slug, so every category has one address.

Names are stored lower-case on each tip (``Tip.categories``). A new name whose slug is already
taken by another name (``phone skills`` and ``phone-skills``) is folded into the existing one
when it is written, so the slug ↔ name mapping stays one-to-one.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import select
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


def counts(session: Session) -> list[tuple[str, str, int]]:
    """``(name, slug, number of public tips)`` for every category in the archive, by name."""
    tally: Counter[str] = Counter()
    for names in session.scalars(select(Tip.categories).where(Tip.status.in_(PUBLIC))):
        tally.update(names or ())
    return [(name, slug(name), n) for name, n in sorted(tally.items())]


def name_for(session: Session, category_slug: str) -> str | None:
    """The category name behind a slug, if any public tip uses it."""
    return next((name for name, s, _ in counts(session) if s == category_slug), None)
