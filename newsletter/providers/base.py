"""What the sending engine needs of an email provider, and the values that cross the line.

A provider module knows its API and nothing of the database or the engine: it turns
``Message`` values into one call of the provider's batch form and the answer into one
``SendResult`` per message, raising ``ProviderError`` for failures of the whole call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import formataddr, parseaddr
from typing import Protocol

from newsletter.content import Body

_SPECIALS = re.compile(r'[][\\()<>@,:;".]')


def mailbox(name: str, address: str) -> str:
    """``Name <address>`` as a header wants it: ``formataddr``, with a fast path for the
    plain names most recipients have (one per message, thousands a second)."""
    if not name:
        return address
    if name.isascii() and not _SPECIALS.search(name):
        return f"{name} <{address}>"
    return formataddr((name, address))


class MessageError(ValueError):
    """One recipient's message cannot be built (a control character in a header value, …).

    That delivery fails alone, with this reason; the edition goes on.
    """


@dataclass(slots=True)
class Message:
    """One personalised email, and the one truth of what goes out: providers read From,
    Reply-To and every header from here, never from the settings.

    ``body`` is shared by the whole batch (the edition's content, cut once) and ``fields``
    are this recipient's values for its placeholders: ``html`` and ``text`` are joined on
    demand, so a batch never holds a copy per recipient unless a provider needs one.
    """

    delivery_id: int
    to: str
    subject: str
    body: Body
    sender: str  # the From header: "Name" <address>
    headers: Mapping[str, str]  # List-Unsubscribe, List-Unsubscribe-Post, List-Id, Message-ID
    fields: Mapping[str, str] = field(default_factory=dict)
    to_name: str = ""
    reply_to: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def html(self) -> str:
        return self.body.html(self.fields)

    @property
    def text(self) -> str:
        return self.body.text(self.fields)

    @property
    def sender_address(self) -> str:
        """The bare From address (for an SMTP envelope, or APIs that take it apart)."""
        return parseaddr(self.sender)[1]

    @property
    def sender_name(self) -> str:
        return parseaddr(self.sender)[0]


@dataclass(slots=True)
class SendResult:
    """The provider's word on one message."""

    delivery_id: int
    provider_message_id: str | None = None
    error: str | None = None
    permanent: bool = False
    suppressed: bool = False  # the provider says the address bounced, complained or is invalid

    @property
    def ok(self) -> bool:
        return self.error is None


Record = Callable[[SendResult], None]
"""Called by a sequential provider with each message's result as soon as it is settled; it
returns once the result is on record, before the provider starts the next message."""


class Provider(Protocol):
    """An email provider adapter."""

    name: str
    max_batch: int  # messages per call, from the provider's documentation
    default_rate: float  # messages per second when [provider] rate_limit is 0; 0 = no limit
    idempotent: bool  # a resend of the same batch key is safe (the provider deduplicates)
    key_memory: timedelta | None  # how long it remembers a key (None: for ever)
    # Sends a batch one message at a time, in order, stopping at the first failure of the
    # whole call, and reports each through ``record``: a batch cut short can have at most its
    # first unreported message in doubt (SMTP, SES, the outbox).
    sequential: bool

    def send_batch(
        self, messages: Sequence[Message], batch_key: str, record: Record | None = None
    ) -> list[SendResult]:
        """Send the messages; one result per message, in order (and each through ``record``,
        as it is settled, when the provider is sequential and one is given)."""
        ...

    def check(self) -> str:
        """The cheapest authenticated call: is the key and sender good? One line."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
