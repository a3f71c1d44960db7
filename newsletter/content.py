"""An edition's content, rendered once, and how one recipient's copy is filled in.

``render.render_edition`` writes two placeholders into the HTML and text: where the
recipient's greeting line goes, and their unsubscribe URL. ``Body`` cuts the content at the
placeholders once; a recipient's copy is a join of the pieces with their values (HTML-escaped
in the HTML part), never a render. Providers that send one template for a whole batch
(SendGrid, Mailgun) take the template itself and substitute on their side.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

GREETING = "%%NAME%%"
UNSUBSCRIBE_URL = "%%UNSUBSCRIBE_URL%%"
PLACEHOLDERS = {GREETING: "greeting", UNSUBSCRIBE_URL: "unsubscribe_url"}
_SPLIT = re.compile("(" + "|".join(re.escape(p) for p in PLACEHOLDERS) + ")")


@dataclass(frozen=True)
class RenderedEdition:
    """An edition's content as stored: subject, inlined HTML and text, with placeholders."""

    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class Body:
    """The HTML and text of one edition (or one message), cut at its placeholders once."""

    html_template: str
    text_template: str
    _html: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _text: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_html", tuple(_SPLIT.split(self.html_template)))
        object.__setattr__(self, "_text", tuple(_SPLIT.split(self.text_template)))

    @classmethod
    def of(cls, rendered: RenderedEdition) -> Body:
        return cls(rendered.html, rendered.text)

    def html(self, fields: Mapping[str, str]) -> str:
        """The HTML part for one recipient (``fields``: greeting, unsubscribe_url, as text)."""
        return _fill(self._html, fields, html.escape)

    def text(self, fields: Mapping[str, str]) -> str:
        """The plain-text part for one recipient."""
        return _fill(self._text, fields, str)


def _fill(pieces: tuple[str, ...], fields: Mapping[str, str], escape: Callable[[str], str]) -> str:
    if len(pieces) == 1:
        return pieces[0]
    out = list(pieces)
    # re.split with a group puts the placeholders at the odd indexes.
    for i in range(1, len(out), 2):
        out[i] = escape(fields.get(PLACEHOLDERS[out[i]], ""))
    return "".join(out)
