"""People's names: first and last, split from a full name, and the greeting built from them.

The greeting is a Jinja template from the config (``[newsletter] greeting``), compiled once:
it is rendered for each of the four shapes a name can have (first and last, first only, last
only, neither) with markers where the names go, so each recipient's greeting is a string join,
never a template render.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from newsletter.errors import ConfigError

_FIRST = "\x00first\x00"
_LAST = "\x00last\x00"


class PersonName(NamedTuple):
    """A subscriber's first and last name (either may be empty)."""

    first: str = ""
    last: str = ""

    def full(self) -> str:
        """``first last``, or whichever is there."""
        if self.first and self.last:
            return f"{self.first} {self.last}"
        return self.first or self.last


def split_name(full: str) -> PersonName:
    """A one-field name as people type it, split into first and last.

    ``Phyllis Grant`` is Phyllis / Grant and ``Mary Ann van der Berg`` is Mary / Ann van der
    Berg (the first word greets). Anything after a comma is a qualifier, not a name to greet
    with (``Jennie, Feature Editor``, ``Ann Lee, PhD``): it goes into the last name, so the
    greeting says ``Jennie``. An address typed as a name is no name.
    """
    text = full.strip()
    if "," not in text and "@" not in text and "  " not in text and "\t" not in text:
        first, _, last = text.partition(" ")  # the common case, kept cheap for big imports
        return PersonName(first, last)
    text = " ".join(text.split())
    if not text or "@" in text:
        return PersonName()
    head, _, tail = text.partition(",")
    first, _, rest = head.strip().partition(" ")
    last = " ".join(part for part in (rest.strip(), tail.strip(" ,")) if part)
    if not first:  # ", Feature": nothing before the comma
        return PersonName("", last)
    return PersonName(first, last)


@dataclass(frozen=True)
class Greeting:
    """The compiled ``[newsletter] greeting``: ``text(name)`` is a join, not a render."""

    template: str
    _shapes: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def compile(cls, template: str) -> Greeting:
        """Render the template once per name shape; refuse what cannot be filled by joins."""
        if not template.strip():
            return cls("")
        env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        try:
            compiled = env.from_string(template)
            shapes = tuple(
                _pieces(compiled.render(first_name=first, last_name=last))
                for first, last in ((_FIRST, _LAST), (_FIRST, ""), ("", _LAST), ("", ""))
            )
            sample = compiled.render(first_name="Ann", last_name="Lee")
        except TemplateError as exc:
            raise ConfigError(f"[newsletter] greeting: {exc.message or exc}") from exc
        greeting = cls(template, shapes)
        if greeting.text(PersonName("Ann", "Lee")) != " ".join(sample.split()):
            raise ConfigError(
                "[newsletter] greeting: use first_name and last_name as they are "
                "(filters that change a name, such as upper or title, are not supported)"
            )
        return greeting

    @property
    def enabled(self) -> bool:
        """False when the setting is empty: no greeting line at all."""
        return bool(self.template)

    def text(self, name: PersonName) -> str:
        """The greeting line for one recipient (one line, surrounding spaces trimmed)."""
        if not self._shapes:
            return ""
        first, last = name.first.strip(), name.last.strip()
        pieces = self._shapes[(0 if first else 2) + (0 if last else 1)]
        values = {_FIRST: first, _LAST: last}
        return "".join(values.get(piece, piece) for piece in pieces)


def _pieces(rendered: str) -> tuple[str, ...]:
    """The rendered text cut around the markers, whitespace folded to one line."""
    flat = " ".join(rendered.split())
    out: list[str] = []
    for chunk in (
        flat.replace(_FIRST, f"\x01{_FIRST}\x01").replace(_LAST, f"\x01{_LAST}\x01").split("\x01")
    ):
        if chunk:
            out.append(chunk)
    return tuple(out)
