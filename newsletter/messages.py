"""One edition, many recipients: the per-recipient ``Message`` and its RFC 5322 form.

Every message carries the bulk-sender headers: List-Unsubscribe (the recipient's own signed
link), List-Unsubscribe-Post for RFC 8058 one-click, and a stable List-Id.
"""

from __future__ import annotations

import email.errors
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate

from newsletter.config import Settings
from newsletter.names import Greeting, PersonName
from newsletter.providers.base import Message
from newsletter.render import Personaliser, RenderedEdition, absolute
from newsletter.tokens import UNSUBSCRIBE, Tokens

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class MessageError(ValueError):
    """One recipient's message cannot be built (a control character in a header value, …).

    That delivery fails alone, with this reason; the edition goes on.
    """


def check_header_value(label: str, value: str) -> None:
    """Refuse a value with a CR, LF or other control character before it reaches a header."""
    if _CONTROL.search(value):
        raise MessageError(
            f"cannot build the message: the {label} {value!r} has a line break or control character"
        )


def list_id(settings: Settings) -> str:
    """``Customer Service Tip of the Week <tips.example.com>`` from the From address."""
    local, _, domain = settings.newsletter.from_email.partition("@")
    return f"{settings.newsletter.name} <{local}.{domain}>"


def sender(settings: Settings) -> str:
    """The From header."""
    return formataddr((settings.newsletter.from_name, settings.newsletter.from_email))


class MessageFactory:
    """Builds each recipient's message from the edition rendered once."""

    def __init__(
        self,
        settings: Settings,
        week: str,
        edition_id: int,
        rendered: RenderedEdition,
        tokens: Tokens,
    ) -> None:
        self._settings = settings
        self._week = week
        self._edition_id = edition_id
        self._subject = rendered.subject
        self._fill = Personaliser(rendered)
        self._greeting = Greeting.compile(settings.newsletter.greeting)
        self._rendered = rendered
        self._tokens = tokens
        self._list_id = list_id(settings)
        self._domain = settings.newsletter.from_email.partition("@")[2]

    def unsubscribe_url(self, subscriber_id: int) -> str:
        token = self._tokens.make(UNSUBSCRIBE, subscriber_id, self._edition_id)
        return absolute(self._settings.newsletter.base_url, f"u/{token}")

    def build(
        self,
        delivery_id: int,
        subscriber_id: int,
        email: str,
        name: PersonName,
        *,
        subject_prefix: str = "",
    ) -> Message:
        """The message for one recipient; ``MessageError`` if it cannot be built."""
        check_header_value("address", email)
        check_header_value("name", name.full())
        url = self.unsubscribe_url(subscriber_id)
        greeting = self._greeting.text(name)
        headers = {
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": self._list_id,
            "Message-ID": f"<{self._week}.{delivery_id}@{self._domain}>",
        }
        if self._settings.newsletter.reply_to:
            headers["Reply-To"] = self._settings.newsletter.reply_to
        return Message(
            delivery_id=delivery_id,
            to=email,
            to_name=name.full(),
            subject=subject_prefix + self._subject,
            html=self._fill.html(greeting=greeting, unsubscribe_url=url),
            text=self._fill.text(greeting=greeting, unsubscribe_url=url),
            headers=headers,
            metadata={"edition": self._week, "delivery": str(delivery_id)},
            template_html=self._rendered.html,
            template_text=self._rendered.text,
            fields={"greeting": greeting, "unsubscribe_url": url},
        )


def to_mime(message: Message, from_header: str) -> EmailMessage:
    """The RFC 5322 message (multipart/alternative: text, then HTML; UTF-8).

    ``MessageError`` when the values cannot make a valid message (the email package refuses
    header values with line breaks, among others).
    """
    try:
        return _mime(message, from_header)
    except (ValueError, TypeError, IndexError, email.errors.MessageError) as exc:
        raise MessageError(f"cannot build the message to {message.to!r}: {exc}") from exc


def mime_bytes(message: Message, from_header: str) -> bytes:
    """``to_mime`` as bytes, with the generator's own checks; ``MessageError`` as there."""
    try:
        return _mime(message, from_header).as_bytes()
    except (ValueError, TypeError, IndexError, email.errors.MessageError) as exc:
        raise MessageError(f"cannot build the message to {message.to!r}: {exc}") from exc


def _mime(message: Message, from_header: str) -> EmailMessage:
    mime = EmailMessage(policy=SMTP)
    mime["From"] = from_header
    mime["To"] = (
        Address(display_name=message.to_name, addr_spec=message.to)
        if message.to_name
        else message.to
    )
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=False, usegmt=True)
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text, subtype="plain", charset="utf-8")
    mime.add_alternative(message.html, subtype="html", charset="utf-8")
    return mime
