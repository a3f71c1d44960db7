"""The double opt-in email: one link that confirms a signup (valid for 7 days)."""

from __future__ import annotations

from newsletter.config import Settings
from newsletter.errors import ProviderError
from newsletter.models import Subscriber, utcnow
from newsletter.providers.base import Message
from newsletter.providers.registry import make_provider
from newsletter.render import absolute
from newsletter.tokens import CONFIRM, Tokens


def send_confirmation(settings: Settings, tokens: Tokens, subscriber: Subscriber) -> None:
    """Email the confirm link to a pending subscriber."""
    n = settings.newsletter
    link = absolute(n.base_url, f"confirm/{tokens.make(CONFIRM, subscriber.id)}")
    text = (
        f"Hi{' ' + subscriber.name if subscriber.name else ''},\n\n"
        f"Please confirm that you want {n.name} by email:\n\n{link}\n\n"
        "The link works for 7 days. If you did not sign up, ignore this email: "
        "nothing will be sent to you.\n\n"
        f"{n.from_name}\n{n.postal_address}\n"
    )
    html = (
        f"<p>Please confirm that you want {_e(n.name)} by email:</p>"
        f'<p><a href="{_e(link)}">Confirm my subscription</a></p>'
        "<p>The link works for 7 days. If you did not sign up, ignore this email: nothing will be "
        f"sent to you.</p><p>{_e(n.from_name)}<br>{_e(n.postal_address)}</p>"
    )
    message = Message(
        delivery_id=int(utcnow().timestamp() * 1000),
        to=subscriber.email,
        to_name=subscriber.name,
        subject=f"Confirm your subscription to {n.name}",
        html=html,
        text=text,
        headers={},
        metadata={"edition": "confirmations"},
    )
    provider = make_provider(settings)
    try:
        (result,) = provider.send_batch(
            [message], batch_key=f"confirm-{subscriber.id}-{message.delivery_id}"
        )
    finally:
        provider.close()
    if not result.ok:
        raise ProviderError(f"the confirmation email was refused: {result.error}", permanent=True)


def _e(text: str) -> str:
    import html

    return html.escape(text)
