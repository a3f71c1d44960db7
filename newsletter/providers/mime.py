"""A message as RFC 5322 bytes, for the providers that send raw MIME (outbox, SMTP, SES).

Written directly rather than through ``email.message.EmailMessage`` and its generator (about
4 ms a message for a 30 KB newsletter, most of a bulk send's time): a multipart/alternative
with a UTF-8 text part and a UTF-8 HTML part, both quoted-printable (C ``binascii``), the
headers encoded (RFC 2047 where they are not ASCII) and folded by the standard library's own
helpers. Tests parse every message back with the standard library's parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from email.header import Header
from email.utils import formatdate
from functools import lru_cache

from newsletter.providers.base import Message, MessageError, Record, SendResult, mailbox

CRLF = "\r\n"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Headers the message's own fields set; the same names in ``Message.headers`` are ignored.
_OWN = {"from", "to", "subject", "date", "reply-to", "mime-version", "content-type"}


def one_by_one(
    messages: Sequence[Message],
    send: Callable[[Message, bytes], SendResult],
    record: Record | None,
) -> list[SendResult]:
    """A sequential provider's batch (outbox, SMTP, SES): each message built (one Date for
    the batch), sent and reported through ``record`` before the next. A message that cannot
    be built fails alone, for good; a failure of the whole call raised by ``send`` stops the
    batch there."""
    date = formatdate(usegmt=True)
    results = []
    for message in messages:
        try:
            data = message_bytes(message, date)
        except MessageError as exc:
            result = SendResult(message.delivery_id, error=str(exc), permanent=True)
        else:
            result = send(message, data)
        if record is not None:
            record(result)
        results.append(result)
    return results


def message_bytes(message: Message, date: str | None = None) -> bytes:
    """The whole message; ``MessageError`` when a header value could forge another header."""
    # "=_" never occurs in a quoted-printable body ("=" is written "=3D"): a safe boundary.
    boundary = f"=_nl{message.delivery_id:x}"
    to = mailbox(message.to_name, message.to)
    lines = [
        _header("From", message.sender, address=True),
        _header("To", to, address=True),
        _header("Subject", message.subject),
        _header("Date", date or formatdate(usegmt=True)),
    ]
    if message.reply_to:
        lines.append(_header("Reply-To", message.reply_to, address=True))
    lines += [_header(k, v) for k, v in message.headers.items() if k.lower() not in _OWN]
    lines += [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    # UTF-8 only where an address itself is not ASCII (RFC 6532, sent with SMTPUTF8).
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return b"".join(
        (
            head,
            _part_head(boundary, "plain"),
            *message.body.text_qp(message.fields),
            _part_head(boundary, "html"),
            *message.body.html_qp(message.fields),
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        )
    )


def _header(name: str, value: str, *, address: bool = False) -> str:
    if _CONTROL.search(value):
        raise MessageError(
            f"cannot build the message: the {name} header {value!r} has a line break or "
            "control character"
        )
    if address or (value.isascii() and len(name) + len(value) < 998):
        return f"{name}: {value}"  # (formataddr has already encoded a display name)
    return _encoded(name, value)


@lru_cache(maxsize=64)
def _encoded(name: str, value: str) -> str:
    """RFC 2047 (and folding) for a header that needs it: the same Subject and List-Id for a
    whole edition, so encoded once."""
    charset = "us-ascii" if value.isascii() else "utf-8"
    encoded = Header(value, charset, header_name=name).encode(linesep=CRLF)
    return f"{name}: {encoded}"


def _part_head(boundary: str, subtype: str) -> bytes:
    # (the CRLF before a boundary belongs to the boundary, RFC 2046)
    lead = "" if subtype == "plain" else "\r\n"
    return (
        f'{lead}--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode("ascii")
