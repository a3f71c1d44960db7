"""Resend: ``POST /emails/batch``, up to 100 emails a call, with an ``Idempotency-Key``.

The key is the batch's own (kept when another sender takes an interrupted batch over), and
Resend remembers it for 24 hours: a resend of the same batch sends nothing twice, so a batch
is never left in doubt. Permissive validation: a bad address fails alone, by index.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import formataddr
from typing import Any

from newsletter.config import Settings
from newsletter.providers import http
from newsletter.providers.base import Message, SendResult


class ResendProvider:
    name = "resend"
    max_batch = 100
    default_rate = 200.0  # 2 requests a second per team (the documented default) x 100 emails
    idempotent = True

    def __init__(self, settings: Settings, api_key: str) -> None:
        self._settings = settings
        base = settings.provider.api_base or "https://api.resend.com"
        headers = {"Authorization": f"Bearer {api_key}", "x-batch-validation": "permissive"}
        self._client = http.client(base, headers, concurrency=settings.provider.concurrency)

    def payload(self, m: Message) -> dict[str, Any]:
        n = self._settings.newsletter
        body: dict[str, Any] = {
            "from": formataddr((n.from_name, n.from_email)),
            "to": [m.to],
            "subject": m.subject,
            "html": m.html,
            "text": m.text,
            "headers": {k: v for k, v in m.headers.items() if k != "Message-ID"},
            "tags": [{"name": k, "value": v.replace("-", "_")} for k, v in m.metadata.items()],
        }
        if n.reply_to:
            body["reply_to"] = n.reply_to
        return body

    def send_batch(self, messages: Sequence[Message], batch_key: str) -> list[SendResult]:
        body = http.json_array(self.payload(m) for m in messages)
        headers = {"Idempotency-Key": batch_key[:256], "Content-Type": "application/json"}
        response = http.call(
            self.name, lambda: self._client.post("/emails/batch", content=body, headers=headers)
        )
        if response.status_code == 409:
            # The same key is in flight elsewhere (or was used for another body): wait and see.
            raise http.transient(self.name, response)
        http.check(self.name, response)
        data = response.json()
        errors = {
            int(e.get("index", -1)): str(e.get("message", "")) for e in data.get("errors") or []
        }
        ids = iter(data.get("data") or [])
        results = []
        for index, m in enumerate(messages):
            if index in errors:
                results.append(
                    SendResult(m.delivery_id, error=f"resend: {errors[index]}", permanent=True)
                )
            else:
                entry = next(ids, None)
                if entry is None:
                    raise http.unexpected(self.name, response)
                results.append(SendResult(m.delivery_id, provider_message_id=str(entry.get("id"))))
        return results

    def check(self) -> str:
        """An authenticated read: the account's domains."""
        response = http.call(self.name, lambda: self._client.get("/domains"))
        http.check(self.name, response)
        domains = [d.get("name") for d in response.json().get("data", [])]
        return f"API key works; domains: {', '.join(str(d) for d in domains) or 'none yet'}"

    def close(self) -> None:
        self._client.close()
