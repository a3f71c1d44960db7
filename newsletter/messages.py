"""One edition, many recipients: each recipient's ``Message``, built from the edition once.

Every message carries the bulk-sender headers: List-Unsubscribe (the recipient's own signed
link), List-Unsubscribe-Post for RFC 8058 one-click, and a stable List-Id; From and Reply-To
come from the settings here, once, and every provider reads them from the message.
"""

from __future__ import annotations

import re
from email.utils import formataddr

from newsletter.config import Settings
from newsletter.content import Body, RenderedEdition
from newsletter.names import Greeting, PersonName
from newsletter.providers.base import Message, MessageError
from newsletter.tokens import UNSUBSCRIBE, Tokens
from newsletter.urls import absolute

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


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


def one_off(
    settings: Settings,
    to: str,
    subject: str,
    html: str,
    text: str,
    *,
    delivery_id: int = 0,
    metadata: dict[str, str] | None = None,
) -> Message:
    """A message outside any edition (an alert, a confirmation), with our From and Reply-To."""
    return Message(
        delivery_id=delivery_id,
        to=to,
        subject=subject,
        body=Body(html, text),
        sender=sender(settings),
        headers={},
        reply_to=settings.newsletter.reply_to,
        metadata=metadata or {},
    )


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
        self._week = week
        self._edition_id = edition_id
        self._subject = rendered.subject
        self._body = Body.of(rendered)
        self._greeting = Greeting.compile(settings.newsletter.greeting)
        self._tokens = tokens
        self._unsubscribe_base = absolute(settings.newsletter.base_url, "u/")
        self._list_id = list_id(settings)
        self._sender = sender(settings)
        self._reply_to = settings.newsletter.reply_to
        self._domain = settings.newsletter.from_email.partition("@")[2]

    @property
    def body(self) -> Body:
        """The edition's content, shared by every message of it."""
        return self._body

    def unsubscribe_url(self, subscriber_id: int) -> str:
        return self._unsubscribe_base + self._tokens.make(
            UNSUBSCRIBE, subscriber_id, self._edition_id
        )

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
        full_name = name.full()
        check_header_value("address", email)
        check_header_value("name", full_name)
        url = self.unsubscribe_url(subscriber_id)
        return Message(
            delivery_id=delivery_id,
            to=email,
            to_name=full_name,
            subject=subject_prefix + self._subject,
            body=self._body,
            fields={"greeting": self._greeting.text(name), "unsubscribe_url": url},
            sender=self._sender,
            reply_to=self._reply_to,
            headers={
                "List-Unsubscribe": f"<{url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "List-Id": self._list_id,
                "Message-ID": f"<{self._week}.{delivery_id}@{self._domain}>",
            },
            metadata={"edition": self._week, "delivery": str(delivery_id)},
        )
