"""Resend: ``POST /emails/batch``, up to 100 emails a call, with an ``Idempotency-Key``.

Documented at https://resend.com/docs/api-reference/emails/send-batch-emails and
https://resend.com/docs/dashboard/emails/idempotency-keys. The key is the batch's own (kept
when another sender takes an interrupted batch over) and Resend remembers it for 24 hours:
a resend of the same batch sends nothing twice. Permissive validation: a bad address fails
alone, by index.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import httpx

from newsletter.config import Settings
from newsletter.errors import KeyReused, ProviderError
from newsletter.providers import http
from newsletter.providers.base import Message, Record, SendResult

# Resend sets these itself or takes them as fields of their own.
_NOT_HEADERS = {"message-id", "reply-to", "from", "to", "subject"}


class ResendProvider:
    name = "resend"
    max_batch = 100
    default_rate = 200.0  # 2 requests a second per team (the documented default) x 100 emails
    idempotent = True
    key_memory: timedelta | None = timedelta(hours=24)  # documented: keys are kept 24 hours
    sequential = False

    def __init__(self, settings: Settings) -> None:
        base = settings.provider.api_base or "https://api.resend.com"
        headers = {
            "Authorization": f"Bearer {http.api_key(settings)}",
            "x-batch-validation": "permissive",
            **http.JSON_HEADERS,
        }
        self._client = http.client(base, headers, concurrency=settings.provider.concurrency)

    def payload(self, m: Message) -> list[bytes]:
        """One email of the batch, encoded (in pieces)."""
        rest: dict[str, Any] = {
            "from": m.sender,
            "to": [m.to],
            "subject": m.subject,
            "headers": {k: v for k, v in m.headers.items() if k.lower() not in _NOT_HEADERS},
            "tags": [{"name": k, "value": v.replace("-", "_")} for k, v in m.metadata.items()],
        }
        if m.reply_to:
            rest["reply_to"] = m.reply_to
        return http.with_bodies("html", "text", m, rest)

    def send_batch(
        self, messages: Sequence[Message], batch_key: str, record: Record | None = None
    ) -> list[SendResult]:
        body = http.json_array(self.payload(m) for m in messages)
        headers = {"Idempotency-Key": batch_key[:256], **body.headers()}
        response = http.call(
            self.name,
            lambda: self._client.post("/emails/batch", content=body.chunks(), headers=headers),
        )
        if response.status_code == 409:
            raise _conflict(response)
        http.check(self.name, response)
        data = http.body(self.name, response)
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise http.unexpected(self.name, response)
        errors = {
            int(e.get("index", -1)): str(e.get("message", ""))
            for e in data.get("errors") or []
            if isinstance(e, dict)
        }
        ids = iter(data["data"])
        results = []
        for index, m in enumerate(messages):
            if index in errors:
                results.append(
                    SendResult(m.delivery_id, error=f"resend: {errors[index]}", permanent=True)
                )
            else:
                entry = next(ids, None)
                if not isinstance(entry, dict):
                    raise http.unexpected(self.name, response)
                results.append(SendResult(m.delivery_id, provider_message_id=str(entry.get("id"))))
        return results

    def check(self) -> str:
        """An authenticated read: the account's domains."""
        response = http.call(self.name, lambda: self._client.get("/domains"))
        http.check(self.name, response)
        data = http.body(self.name, response)
        listed = data.get("data", []) if isinstance(data, dict) else []
        domains = [d.get("name") for d in listed if isinstance(d, dict)]
        return f"API key works; domains: {', '.join(str(d) for d in domains) or 'none yet'}"

    def close(self) -> None:
        self._client.close()


def _conflict(response: httpx.Response) -> ProviderError:
    """409: the key was used with another body (its own error), or is in flight elsewhere."""
    detail = http.body("resend", response) if http.is_json(response) else {}
    name = detail.get("name", "") if isinstance(detail, dict) else ""
    if name == "concurrent_idempotent_requests":
        # Our earlier request with this key is still being processed: ask again later.
        return ProviderError(
            "resend: HTTP 409 this batch's earlier request is still in progress",
            permanent=False,
            retry_after=http.retry_after(response) or 1.0,
            ambiguous=True,
        )
    return KeyReused(f"resend: HTTP 409 the batch key was used before with another body ({name})")
