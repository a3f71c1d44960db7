"""Mailgun webhooks: hex HMAC-SHA256 of timestamp + token with the webhook signing key.

The signature travels inside the JSON body, so the body is read once with the bounded parser
(``body.loads``) and only ``signature`` is looked at until it is verified; stale timestamps
(over 5 minutes either way) and replayed tokens are refused. ``event-data`` is interpreted
only after that.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from typing import Any

from newsletter.errors import InputError
from newsletter.webhooks import Event, Unauthorized, body

MAX_AGE = 300
WHAT = "mailgun"


class Replays:
    """Tokens seen in the last few minutes (a replay reuses one)."""

    def __init__(self, size: int = 10_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first_time(self, token: str) -> bool:
        with self._lock:
            if token in self._seen:
                return False
            self._seen[token] = None
            if len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return True


def verify(raw: bytes, secret: str, replays: Replays, now: float | None = None) -> dict[str, Any]:
    """The body as a JSON object once its signature, age and token are good."""
    document = body.obj(body.loads(raw, WHAT), f"{WHAT}: the body")
    signature = body.obj(document.get("signature"), f"{WHAT}: signature")
    timestamp = body.identifier(signature, "timestamp", WHAT) or ""
    token = body.text(signature, "token", WHAT)
    given = body.text(signature, "signature", WHAT)
    expected = hmac.new(secret.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise Unauthorized("mailgun: bad signature")
    now = time.time() if now is None else now
    if not timestamp.isascii() or not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_AGE:
        raise Unauthorized("mailgun: stale timestamp")
    if not replays.first_time(token):
        raise Unauthorized("mailgun: replayed token")
    return document


def parse(document: dict[str, Any]) -> list[Event]:
    """The event in a verified body."""
    data = body.obj(document.get("event-data"), f"{WHAT}: event-data")
    ident = body.identifier(data, "id", WHAT)
    if ident is None:
        raise InputError("mailgun: event-data has no id")
    kind = body.text(data, "event", WHAT)
    if kind == "failed":
        severity = body.optional_text(data, "severity", WHAT)
        kind = "bounced" if severity == "permanent" else "failed_temporary"
    recipient = body.optional_text(data, "recipient", WHAT) or ""
    message = body.section(data, "message", WHAT)
    headers = body.section(message, "headers", WHAT)
    message_id = body.optional_text(headers, "message-id", WHAT)
    return [Event(ident, kind, recipient, message_id, data)]
