"""An edition's content, rendered once, and how one recipient's copy is filled in.

``render.render_edition`` writes two placeholders into the HTML and text: where the
recipient's greeting line goes, and their unsubscribe URL. ``Body`` cuts the content at the
placeholders once; a recipient's copy is a join of the pieces with their values (HTML-escaped
in the HTML part), never a render. Providers that send one template for a whole batch
(SendGrid, Mailgun) take the template itself and substitute on their side.
"""

from __future__ import annotations

import binascii
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import orjson

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

    # For JSON APIs: the parts as the inside of a JSON string, encoded once per edition, so a
    # recipient's copy is a join of bytes (no per-recipient string to build, then escape).

    def html_json(self, fields: Mapping[str, str]) -> list[bytes]:
        """``html(fields)`` as the inside of a JSON string (UTF-8), in pieces to be joined:
        the edition's own pieces are shared, never copied per recipient."""
        return _fill_json(self._html_json, fields, html.escape)

    def text_json(self, fields: Mapping[str, str]) -> list[bytes]:
        """``text(fields)`` as the inside of a JSON string, in pieces to be joined."""
        return _fill_json(self._text_json, fields, str)

    # For raw MIME (SMTP, SES, the outbox): the parts quoted-printable, encoded once per edition.
    # Each piece is encoded from the start of a line and ends with a soft line break, so a
    # recipient's values slot in between without re-encoding (or re-wrapping) the rest.

    def html_qp(self, fields: Mapping[str, str]) -> list[bytes]:
        """``html(fields)`` quoted-printable (UTF-8, CRLF), in pieces to be joined."""
        return _fill_qp(self._html_qp, fields, html.escape)

    def text_qp(self, fields: Mapping[str, str]) -> list[bytes]:
        """``text(fields)`` quoted-printable (UTF-8, CRLF), in pieces to be joined."""
        return _fill_qp(self._text_qp, fields, str)

    @cached_property
    def _html_qp(self) -> tuple[bytes | str, ...]:
        return tuple(quoted_printable(p) if i % 2 == 0 else p for i, p in enumerate(self._html))

    @cached_property
    def _text_qp(self) -> tuple[bytes | str, ...]:
        return tuple(quoted_printable(p) if i % 2 == 0 else p for i, p in enumerate(self._text))

    @cached_property
    def _html_json(self) -> tuple[bytes | str, ...]:
        return _json_pieces(self._html)

    @cached_property
    def _text_json(self) -> tuple[bytes | str, ...]:
        return _json_pieces(self._text)


def quoted_printable(text: str) -> bytes:
    """``text`` as quoted-printable UTF-8 with CRLF line ends, ending at the start of a line
    (a soft line break is added when it does not end with a line break of its own)."""
    encoded = binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")
    return encoded if not encoded or encoded.endswith(b"\r\n") else encoded + b"=\r\n"


def _fill_qp(
    pieces: tuple[bytes | str, ...], fields: Mapping[str, str], escape: Callable[[str], str]
) -> list[bytes]:
    return [
        piece
        if isinstance(piece, bytes)
        else quoted_printable(escape(fields.get(PLACEHOLDERS[piece], "")))
        for piece in pieces
    ]


def _json_pieces(pieces: tuple[str, ...]) -> tuple[bytes | str, ...]:
    """The text pieces JSON-escaped (without their quotes); placeholders stay as they are."""
    return tuple(orjson.dumps(p)[1:-1] if i % 2 == 0 else p for i, p in enumerate(pieces))


def _fill_json(
    pieces: tuple[bytes | str, ...], fields: Mapping[str, str], escape: Callable[[str], str]
) -> list[bytes]:
    out: list[bytes] = []
    for piece in pieces:
        if isinstance(piece, bytes):
            out.append(piece)
        else:  # a placeholder (at the odd indexes)
            value = escape(fields.get(PLACEHOLDERS[piece], ""))
            out.append(orjson.dumps(value)[1:-1])
    return out


def _fill(pieces: tuple[str, ...], fields: Mapping[str, str], escape: Callable[[str], str]) -> str:
    if len(pieces) == 1:
        return pieces[0]
    out = list(pieces)
    # re.split with a group puts the placeholders at the odd indexes.
    for i in range(1, len(out), 2):
        out[i] = escape(fields.get(PLACEHOLDERS[out[i]], ""))
    return "".join(out)
