"""SendGrid v3 Mail Send: one request, one body, up to 1,000 personalizations.

The edition's HTML and text go once as ``content``; each recipient is a personalization with
its own ``to``, ``headers`` (its own List-Unsubscribe) and ``substitutions`` (its unsubscribe
URL and name). The answer is 202 for the whole request, with no per-recipient results.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from newsletter.config import Settings
from newsletter.providers import http
from newsletter.providers.base import Message, SendResult
from newsletter.render import NAME, UNSUBSCRIBE_URL

NAME_TEXT = "%%NAME_TEXT%%"  # the text part's name is not HTML-escaped


class SendGridProvider:
    name = "sendgrid"
    max_batch = 1000
    default_rate = 0.0
    idempotent = False
    key_memory: timedelta | None = None

    def __init__(self, settings: Settings, api_key: str) -> None:
        self._settings = settings
        base = settings.provider.api_base or "https://api.sendgrid.com"
        headers = {"Authorization": f"Bearer {api_key}"}
        self._client = http.client(base, headers, concurrency=settings.provider.concurrency)

    def payload(self, messages: Sequence[Message]) -> dict[str, Any]:
        n = self._settings.newsletter
        first = messages[0]
        body: dict[str, Any] = {
            "from": {"email": n.from_email, "name": n.from_name},
            "subject": first.subject,
            "content": [
                {"type": "text/plain", "value": first.template_text.replace(NAME, NAME_TEXT)},
                {"type": "text/html", "value": first.template_html},
            ],
            "personalizations": [self._personalization(m) for m in messages],
            "categories": ["newsletter"],
            "tracking_settings": {
                "click_tracking": {"enable": False, "enable_text": False},
                "open_tracking": {"enable": False},
            },
        }
        if n.reply_to:
            body["reply_to"] = {"email": n.reply_to}
        return body

    def _personalization(self, m: Message) -> dict[str, Any]:
        name = m.fields.get("greeting", "")
        to: dict[str, str] = {"email": m.to}
        if m.to_name:
            to["name"] = m.to_name
        return {
            "to": [to],
            "substitutions": {
                UNSUBSCRIBE_URL: m.fields["unsubscribe_url"],
                NAME: html.escape(name),
                NAME_TEXT: name,
            },
            "headers": {k: v for k, v in m.headers.items() if k != "Message-ID"},
            "custom_args": dict(m.metadata),
        }

    def send_batch(self, messages: Sequence[Message], batch_key: str) -> list[SendResult]:
        payload = self.payload(messages)
        response = http.call(self.name, lambda: self._client.post("/v3/mail/send", json=payload))
        http.check(self.name, response, ok=(202,))
        message_id = response.headers.get("x-message-id")
        return [SendResult(m.delivery_id, provider_message_id=message_id) for m in messages]

    def check(self) -> str:
        """An authenticated read: the key's scopes, which must include mail.send."""
        response = http.call(self.name, lambda: self._client.get("/v3/scopes"))
        http.check(self.name, response)
        scopes = response.json().get("scopes", [])
        if "mail.send" not in scopes:
            return "the API key works but lacks the mail.send permission"
        return "API key works and may send mail"

    def close(self) -> None:
        self._client.close()
