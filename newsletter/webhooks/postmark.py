"""Postmark webhooks: basic auth (password: NEWSLETTER_WEBHOOK_SECRET); one record per call."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from newsletter.errors import InputError
from newsletter.webhooks import Event, Unauthorized


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    scheme, _, encoded = headers.get("authorization", "").partition(" ")
    try:
        _, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("postmark: bad basic auth") from None
    if scheme.lower() != "basic" or not hmac.compare_digest(password.encode(), secret.encode()):
        raise Unauthorized("postmark: wrong credentials")


def parse(body: bytes) -> list[Event]:
    try:
        record: Any = json.loads(body)
    except ValueError:
        raise InputError("postmark: the body is not JSON") from None
    if not isinstance(record, dict) or "RecordType" not in record:
        raise InputError("postmark: no RecordType")
    kind = str(record["RecordType"])
    email = str(record.get("Email") or record.get("Recipient") or "")
    if kind == "Bounce":
        hard = record.get("Type") == "HardBounce" or bool(record.get("Inactive"))
        kind = "bounced" if hard else "soft_bounce"
    elif kind == "SpamComplaint":
        kind = "complained"
    elif kind == "SubscriptionChange":
        kind = "unsubscribed" if record.get("SuppressSending") else "resubscribed_at_provider"
    ident = record.get("ID") or hashlib.sha256(body).hexdigest()[:32]
    return [Event(f"{record['RecordType']}:{ident}", kind, email, record.get("MessageID"), record)]
