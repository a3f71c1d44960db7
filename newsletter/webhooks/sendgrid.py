"""SendGrid's Signed Event Webhook: ECDSA P-256 / SHA-256 over timestamp + raw body.

NEWSLETTER_WEBHOOK_SECRET holds the verification key shown in SendGrid's settings (base64 DER).
The signature covers the raw bytes, so they are verified before they are parsed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from newsletter.errors import ConfigError, InputError
from newsletter.webhooks import Event, Unauthorized, body

SIGNATURE = "x-twilio-email-event-webhook-signature"
TIMESTAMP = "x-twilio-email-event-webhook-timestamp"
WHAT = "sendgrid"


def verify(headers: Mapping[str, str], raw: bytes, secret: str) -> None:
    """Refuse a call whose signature does not cover these exact bytes."""
    try:
        key = load_der_public_key(base64.b64decode(secret))
    except (ValueError, binascii.Error):
        raise ConfigError(
            "NEWSLETTER_WEBHOOK_SECRET is not SendGrid's verification key (base64 DER)"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ConfigError("NEWSLETTER_WEBHOOK_SECRET is not an elliptic-curve public key")
    try:
        signature = base64.b64decode(headers.get(SIGNATURE, ""), validate=True)
        key.verify(signature, headers.get(TIMESTAMP, "").encode() + raw, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        raise Unauthorized("sendgrid: bad signature") from None


def parse(raw: bytes) -> list[Event]:
    """The events of a verified call."""
    events = body.loads(raw, WHAT)
    if not isinstance(events, list):
        raise InputError("sendgrid: expected a JSON array of events")
    return [_event(body.obj(e, f"{WHAT}: an event")) for e in events]


def _event(e: dict[str, object]) -> Event:
    ident = body.identifier(e, "sg_event_id", WHAT)
    if ident is None:
        raise InputError("sendgrid: an event has no sg_event_id")
    kind = body.optional_text(e, "event", WHAT) or ""
    if kind == "bounce":
        kind = (
            "bounced"
            if (body.optional_text(e, "type", WHAT) or "bounce") == "bounce"
            else "blocked"
        )
    elif kind == "spamreport":
        kind = "complained"
    email = body.optional_text(e, "email", WHAT) or ""
    return Event(ident, kind, email, body.optional_text(e, "sg_message_id", WHAT), dict(e))
