"""Resend webhooks (Svix): base64 HMAC-SHA256 over "{id}.{timestamp}.{body}" with the whsec_ key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from newsletter.errors import ConfigError, InputError
from newsletter.webhooks import Event, Unauthorized

MAX_AGE = 300


def verify(headers: Mapping[str, str], body: bytes, secret: str, now: float | None = None) -> None:
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        raise ConfigError(
            "NEWSLETTER_WEBHOOK_SECRET is not a Resend signing secret (whsec_…)"
        ) from None
    msg_id, timestamp = headers.get("svix-id", ""), headers.get("svix-timestamp", "")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [
        part.partition(",")[2]
        for part in headers.get("svix-signature", "").split()
        if part.startswith("v1,")
    ]
    if not any(hmac.compare_digest(expected, g) for g in given):
        raise Unauthorized("resend: bad signature")
    now = time.time() if now is None else now
    if not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_AGE:
        raise Unauthorized("resend: stale timestamp")


def parse(body: bytes, event_id: str) -> list[Event]:
    try:
        data: Any = json.loads(body)
    except ValueError:
        raise InputError("resend: the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict) or "type" not in data:
        raise InputError("resend: expected {type, data}")
    kind = {"email.bounced": "bounced", "email.complained": "complained"}.get(
        str(data["type"]), str(data["type"])
    )
    recipients = data["data"].get("to") or [""]
    return [
        Event(f"{event_id}:{to}", kind, str(to), data["data"].get("email_id"), data)
        for to in recipients
    ]
