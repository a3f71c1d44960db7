"""Mailgun webhooks: hex HMAC-SHA256 of timestamp + token with the webhook signing key.

Stale timestamps (over 5 minutes) and replayed tokens are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from newsletter.errors import InputError
from newsletter.webhooks import Event, Unauthorized

MAX_AGE = 300


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


def _body(body: bytes) -> dict[str, Any]:
    try:
        data: Any = json.loads(body)
    except ValueError:
        raise InputError("mailgun: the body is not JSON") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("signature"), dict)
        or not isinstance(data.get("event-data"), dict)
    ):
        raise InputError("mailgun: expected {signature, event-data}")
    return data


def verify(
    headers: Mapping[str, str], body: bytes, secret: str, replays: Replays, now: float | None = None
) -> None:
    signature = _body(body)["signature"]
    timestamp, token = str(signature.get("timestamp", "")), str(signature.get("token", ""))
    expected = hmac.new(secret.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(signature.get("signature", ""))):
        raise Unauthorized("mailgun: bad signature")
    now = time.time() if now is None else now
    if not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_AGE:
        raise Unauthorized("mailgun: stale timestamp")
    if not replays.first_time(token):
        raise Unauthorized("mailgun: replayed token")


def parse(body: bytes) -> list[Event]:
    data = _body(body)["event-data"]
    kind = str(data.get("event", ""))
    if kind == "failed":
        kind = "bounced" if data.get("severity") == "permanent" else "failed_temporary"
    message_id = ((data.get("message") or {}).get("headers") or {}).get("message-id")
    if "id" not in data:
        raise InputError("mailgun: event-data has no id")
    return [Event(str(data["id"]), kind, str(data.get("recipient", "")), message_id, data)]
