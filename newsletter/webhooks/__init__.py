"""Provider webhooks: each module verifies a call (``verify``) and reads its events (``parse``).

``Unauthorized`` (bad or missing signature, stale timestamp, replay, a topic not ours) becomes
HTTP 401 and changes nothing; ``InputError`` (a body that is not what the provider sends, read
by ``body.loads``) becomes 400; ``Unreachable`` (a check needs something we could not fetch
now) becomes 503, so the provider tries again later. A body is verified before it is
interpreted: the signature is checked on the raw bytes, or (Mailgun, SNS, whose signatures
travel inside the JSON) the bounded parse is followed by the signature check before any
event is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from newsletter.errors import NewsletterError


class Unauthorized(NewsletterError):
    """The call is not proven to come from the provider."""


class Unreachable(NewsletterError):
    """A check needs something that could not be fetched now (SNS's signing certificate)."""


@dataclass(frozen=True)
class Event:
    """One provider event, in our terms."""

    event_id: str
    kind: str  # "bounced", "complained", "unsubscribed", or the provider's own word (stored only)
    email: str
    provider_message_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


ACTIONS = ("bounced", "complained", "unsubscribed")
