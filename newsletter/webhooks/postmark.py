"""Postmark webhooks: basic auth (password: NEWSLETTER_WEBHOOK_SECRET); one record per call.

The credentials are checked from the headers alone, before the body is read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from newsletter.webhooks import Event, Unauthorized, body

WHAT = "postmark"


def verify(headers: Mapping[str, str], secret: str) -> None:
    """Refuse a call without the basic-auth password."""
    scheme, _, encoded = headers.get("authorization", "").partition(" ")
    try:
        _, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("postmark: bad basic auth") from None
    if scheme.lower() != "basic" or not hmac.compare_digest(password.encode(), secret.encode()):
        raise Unauthorized("postmark: wrong credentials")


def parse(raw: bytes) -> list[Event]:
    """The record in a verified call."""
    record = body.obj(body.loads(raw, WHAT), f"{WHAT}: the body")
    record_type = body.text(record, "RecordType", WHAT)
    email = body.optional_text(record, "Email", WHAT) or body.optional_text(
        record, "Recipient", WHAT
    )
    kind = record_type
    if record_type == "Bounce":
        hard = body.optional_text(record, "Type", WHAT) == "HardBounce"
        kind = "bounced" if hard or record.get("Inactive") is True else "soft_bounce"
    elif record_type == "SpamComplaint":
        kind = "complained"
    elif record_type == "SubscriptionChange":
        kind = (
            "unsubscribed" if record.get("SuppressSending") is True else "resubscribed_at_provider"
        )
    ident = body.identifier(record, "ID", WHAT) or hashlib.sha256(raw).hexdigest()[:32]
    message_id = body.optional_text(record, "MessageID", WHAT)
    return [Event(f"{record_type}:{ident}", kind, email or "", message_id, record)]
