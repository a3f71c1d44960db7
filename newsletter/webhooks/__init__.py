"""Provider webhooks: each module verifies a call (``verify``) and reads its events (``parse``).

``Unauthorized`` (bad or missing signature, stale timestamp, replay) becomes HTTP 401 and
changes nothing; ``InputError`` (a body that is not what the provider sends) becomes 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from newsletter.errors import NewsletterError


class Unauthorized(NewsletterError):
    """The call is not proven to come from the provider."""


@dataclass(frozen=True)
class Event:
    """One provider event, in our terms."""

    event_id: str
    kind: str  # "bounced", "complained", "unsubscribed", or the provider's own word (stored only)
    email: str
    provider_message_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


ACTIONS = ("bounced", "complained", "unsubscribed")
