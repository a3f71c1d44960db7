"""What the sending engine needs of an email provider, and the values that cross the line.

A provider module knows its API and nothing of the database or the engine: it turns
``Message`` values into one call of the provider's batch form and the answer into one
``SendResult`` per message, raising ``ProviderError`` for failures of the whole call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol


@dataclass(frozen=True)
class Message:
    """One personalised email, ready to go."""

    delivery_id: int
    to: str
    subject: str
    html: str
    text: str
    headers: Mapping[str, str]
    to_name: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    # For APIs that send one body with per-recipient substitutions (SendGrid, Mailgun): the
    # edition's HTML and text with their placeholders, and this recipient's values.
    template_html: str = ""
    template_text: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
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


class Provider(Protocol):
    """An email provider adapter."""

    name: str
    max_batch: int  # messages per call, from the provider's documentation
    default_rate: float  # messages per second when [provider] rate_limit is 0; 0 = no limit
    idempotent: bool  # a resend of the same batch key is safe (the provider deduplicates)
    key_memory: timedelta | None  # how long it remembers a key (None: for ever)

    def send_batch(self, messages: Sequence[Message], batch_key: str) -> list[SendResult]:
        """Send the messages in one call; one result per message, in order."""
        ...

    def check(self) -> str:
        """The cheapest authenticated call: is the key and sender good? One line."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
