"""SendGrid's Signed Event Webhook: ECDSA P-256 / SHA-256 over timestamp + raw body.

NEWSLETTER_WEBHOOK_SECRET holds the verification key shown in SendGrid's settings (base64 DER).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from newsletter.errors import ConfigError, InputError
from newsletter.webhooks import Event, Unauthorized

SIGNATURE = "x-twilio-email-event-webhook-signature"
TIMESTAMP = "x-twilio-email-event-webhook-timestamp"


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> None:
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
        key.verify(signature, headers.get(TIMESTAMP, "").encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        raise Unauthorized("sendgrid: bad signature") from None


def parse(body: bytes) -> list[Event]:
    try:
        events: Any = json.loads(body)
    except ValueError:
        raise InputError("sendgrid: the body is not JSON") from None
    if not isinstance(events, list) or not all(
        isinstance(e, dict) and "sg_event_id" in e for e in events
    ):
        raise InputError("sendgrid: expected a JSON array of events with sg_event_id")
    out = []
    for e in events:
        kind = str(e.get("event", ""))
        if kind == "bounce":
            kind = "bounced" if e.get("type", "bounce") == "bounce" else "blocked"
        elif kind == "spamreport":
            kind = "complained"
        out.append(
            Event(str(e["sg_event_id"]), kind, str(e.get("email", "")), e.get("sg_message_id"), e)
        )
    return out
