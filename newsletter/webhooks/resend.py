"""Resend webhooks (Svix): base64 HMAC-SHA256 over "{id}.{timestamp}.{body}" with the whsec_ key.

The signature covers the raw bytes, so they are verified (and the timestamp's age checked)
before they are parsed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

from newsletter.errors import ConfigError, InputError
from newsletter.webhooks import Event, Unauthorized, body

MAX_AGE = 300
WHAT = "resend"


def verify(headers: Mapping[str, str], raw: bytes, secret: str, now: float | None = None) -> None:
    """Refuse a call whose signature does not cover these bytes, or that is too old."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        raise ConfigError(
            "NEWSLETTER_WEBHOOK_SECRET is not a Resend signing secret (whsec_…)"
        ) from None
    msg_id, timestamp = headers.get("svix-id", ""), headers.get("svix-timestamp", "")
    signed = f"{msg_id}.{timestamp}.".encode() + raw
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    given = [
        part.partition(",")[2].encode()
        for part in headers.get("svix-signature", "").split()
        if part.startswith("v1,")
    ]
    if not any(hmac.compare_digest(expected, g) for g in given):
        raise Unauthorized("resend: bad signature")
    now = time.time() if now is None else now
    if not timestamp.isascii() or not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_AGE:
        raise Unauthorized("resend: stale timestamp")


def parse(raw: bytes, event_id: str) -> list[Event]:
    """The event of a verified call, one per recipient."""
    document = body.obj(body.loads(raw, WHAT), f"{WHAT}: the body")
    event_type = body.text(document, "type", WHAT)
    data = body.obj(document.get("data"), f"{WHAT}: data")
    kind = {"email.bounced": "bounced", "email.complained": "complained"}.get(
        event_type, event_type
    )
    recipients = data.get("to")
    if recipients is None or isinstance(recipients, str):
        recipients = [recipients or ""]
    if not isinstance(recipients, list) or not all(isinstance(to, str) for to in recipients):
        raise InputError("resend: data.to must be a list of addresses")
    recipients = recipients or [""]
    message_id = body.optional_text(data, "email_id", WHAT)
    return [Event(f"{event_id}:{to}", kind, to, message_id, document) for to in recipients]
