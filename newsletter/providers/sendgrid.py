"""SendGrid v3 Mail Send: one request, one body, up to 1,000 personalizations.

Documented at https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send. The
edition's HTML and text go once as ``content``; each recipient is a personalization with its
own ``to``, ``headers`` (its own List-Unsubscribe) and ``substitutions`` (its unsubscribe URL
and greeting). Reply-To is the ``reply_to`` field: SendGrid refuses it (and the other headers
it sets itself) in ``headers`` with a 400. The answer is 202 for the whole request, with no
per-recipient results.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from newsletter.config import Settings
from newsletter.content import GREETING, UNSUBSCRIBE_URL
from newsletter.providers import http
from newsletter.providers.base import Message, Record, SendResult

# The text part's values are not HTML-escaped: placeholders of its own.
GREETING_TEXT = "%%NAME_TEXT%%"
UNSUBSCRIBE_URL_TEXT = "%%UNSUBSCRIBE_URL_TEXT%%"
# Headers SendGrid sets itself: refused in a personalization's headers.
RESERVED_HEADERS = {
    "x-sg-id",
    "x-sg-eid",
    "received",
    "dkim-signature",
    "content-type",
    "content-transfer-encoding",
    "to",
    "from",
    "subject",
    "reply-to",
    "cc",
    "bcc",
    "message-id",  # SendGrid writes its own
}


class SendGridProvider:
    name = "sendgrid"
    max_batch = 1000
    default_rate = 0.0
    idempotent = False
    key_memory: timedelta | None = None
    sequential = False

    def __init__(self, settings: Settings) -> None:
        base = settings.provider.api_base or "https://api.sendgrid.com"
        headers = {"Authorization": f"Bearer {http.api_key(settings)}", **http.JSON_HEADERS}
        self._client = http.client(base, headers, concurrency=settings.provider.concurrency)

    def payload(self, messages: Sequence[Message]) -> dict[str, Any]:
        first = messages[0]
        text = first.body.text_template.replace(GREETING, GREETING_TEXT)
        body: dict[str, Any] = {
            "from": _address(first.sender_address, first.sender_name),
            "subject": first.subject,
            "content": [
                {
                    "type": "text/plain",
                    "value": text.replace(UNSUBSCRIBE_URL, UNSUBSCRIBE_URL_TEXT),
                },
                {"type": "text/html", "value": first.body.html_template},
            ],
            "personalizations": [self._personalization(m) for m in messages],
            "categories": ["newsletter"],
            "tracking_settings": {
                "click_tracking": {"enable": False, "enable_text": False},
                "open_tracking": {"enable": False},
            },
        }
        if first.reply_to:
            body["reply_to"] = {"email": first.reply_to}
        return body

    def _personalization(self, m: Message) -> dict[str, Any]:
        greeting = m.fields.get("greeting", "")
        url = m.fields.get("unsubscribe_url", "")
        return {
            "to": [_address(m.to, m.to_name)],
            "substitutions": {
                UNSUBSCRIBE_URL: html.escape(url),
                UNSUBSCRIBE_URL_TEXT: url,
                GREETING: html.escape(greeting),
                GREETING_TEXT: greeting,
            },
            "headers": {k: v for k, v in m.headers.items() if k.lower() not in RESERVED_HEADERS},
            "custom_args": dict(m.metadata),
        }

    def send_batch(
        self, messages: Sequence[Message], batch_key: str, record: Record | None = None
    ) -> list[SendResult]:
        content = http.json_body(self.payload(messages))
        response = http.call(self.name, lambda: self._client.post("/v3/mail/send", content=content))
        http.check(self.name, response, ok=(202,))
        message_id = response.headers.get("x-message-id")
        return [SendResult(m.delivery_id, provider_message_id=message_id) for m in messages]

    def check(self) -> str:
        """An authenticated read: the key's scopes, which must include mail.send."""
        response = http.call(self.name, lambda: self._client.get("/v3/scopes"))
        http.check(self.name, response)
        data = http.body(self.name, response)
        scopes = data.get("scopes", []) if isinstance(data, dict) else []
        if "mail.send" not in scopes:
            return "the API key works but lacks the mail.send permission"
        return "API key works and may send mail"

    def close(self) -> None:
        self._client.close()


def _address(email: str, name: str) -> dict[str, str]:
    return {"email": email, "name": name} if name else {"email": email}
