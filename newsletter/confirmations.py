"""The double opt-in email: one link that confirms a signup (valid for 7 days)."""

from __future__ import annotations

import html
from dataclasses import replace

from newsletter.config import Settings
from newsletter.messages import one_off
from newsletter.models import Subscriber
from newsletter.providers.base import Message
from newsletter.tokens import CONFIRM, Tokens
from newsletter.urls import absolute


def message(settings: Settings, tokens: Tokens, subscriber: Subscriber, mail_id: int) -> Message:
    """The confirm-link email to a pending subscriber (``mail_id``: its queue row)."""
    n = settings.newsletter
    link = absolute(n.base_url, f"confirm/{tokens.make(CONFIRM, subscriber.id)}")
    first = subscriber.first_name
    text = (
        f"Hi{' ' + first if first else ''},\n\n"
        f"Please confirm that you want {n.name} by email:\n\n{link}\n\n"
        "The link works for 7 days. If you did not sign up, ignore this email: "
        "nothing will be sent to you.\n\n"
        f"{n.from_name}\n{n.postal_address}\n"
    )
    body = (
        f"<p>Please confirm that you want {_e(n.name)} by email:</p>"
        f'<p><a href="{_e(link)}">Confirm my subscription</a></p>'
        "<p>The link works for 7 days. If you did not sign up, ignore this email: nothing will be "
        f"sent to you.</p><p>{_e(n.from_name)}<br>{_e(n.postal_address)}</p>"
    )
    message = one_off(
        settings,
        subscriber.email,
        f"Confirm your subscription to {n.name}",
        body,
        text,
        delivery_id=mail_id,
        metadata={"edition": "confirmations"},
    )
    return replace(message, to_name=" ".join(p for p in (first, subscriber.last_name) if p))


def _e(text: str) -> str:
    return html.escape(text)
