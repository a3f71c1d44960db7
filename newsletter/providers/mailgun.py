"""Mailgun: one ``POST /v3/<domain>/messages`` with up to 1,000 recipients and their variables.

Documented at https://documentation.mailgun.com/docs/mailgun/user-manual/sending-messages/
(batch sending). ``recipient-variables`` carries each recipient's unsubscribe URL and
greeting; ``%recipient.x%`` in the body and in our List-Unsubscribe header is replaced by
Mailgun, and every recipient gets a message of their own. One id for the whole call; no
per-recipient results.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from newsletter.config import Settings
from newsletter.content import GREETING, UNSUBSCRIBE_URL
from newsletter.errors import ConfigError
from newsletter.providers import http
from newsletter.providers.base import Message, Record, SendResult, mailbox


class MailgunProvider:
    name = "mailgun"
    max_batch = 1000
    default_rate = 0.0
    idempotent = False
    key_memory: timedelta | None = None
    sequential = False

    def __init__(self, settings: Settings) -> None:
        if not settings.provider.domain:
            raise ConfigError(
                "[provider] domain: Mailgun needs the sending domain (e.g. mg.example.com)"
            )
        self._domain = settings.provider.domain
        default = (
            "https://api.eu.mailgun.net"
            if settings.provider.region == "eu"
            else "https://api.mailgun.net"
        )
        base = settings.provider.api_base or default
        self._client = http.client(
            base,
            {"Accept": "application/json"},
            concurrency=settings.provider.concurrency,
            auth=("api", http.api_key(settings)),
        )

    def form(self, messages: Sequence[Message]) -> list[tuple[str, str]]:
        first = messages[0]
        variables: dict[str, dict[str, Any]] = {}
        fields: list[tuple[str, str]] = [("from", first.sender)]
        for m in messages:
            fields.append(("to", mailbox(m.to_name, m.to)))
            greeting = m.fields.get("greeting", "")
            url = m.fields.get("unsubscribe_url", "")
            variables[m.to] = {
                "unsub": url,
                "unsub_html": html.escape(url),
                "name_html": html.escape(greeting),
                "name_text": greeting,
                "delivery": m.metadata.get("delivery", ""),
            }
        text = first.body.text_template.replace(GREETING, "%recipient.name_text%")
        page = first.body.html_template.replace(GREETING, "%recipient.name_html%")
        fields += [
            ("subject", first.subject),
            ("text", text.replace(UNSUBSCRIBE_URL, "%recipient.unsub%")),
            ("html", page.replace(UNSUBSCRIBE_URL, "%recipient.unsub_html%")),
            ("recipient-variables", http.json_body(variables).decode()),
            ("h:List-Unsubscribe", "<%recipient.unsub%>"),
            ("h:List-Unsubscribe-Post", first.headers["List-Unsubscribe-Post"]),
            ("h:List-Id", first.headers["List-Id"]),
            ("o:tag", "newsletter"),
            ("o:tracking", "no"),
            ("v:edition", first.metadata.get("edition", "")),
            ("v:delivery", "%recipient.delivery%"),
        ]
        if first.reply_to:
            fields.append(("h:Reply-To", first.reply_to))
        return fields

    def send_batch(
        self, messages: Sequence[Message], batch_key: str, record: Record | None = None
    ) -> list[SendResult]:
        data = self.form(messages)
        response = http.call(
            self.name, lambda: self._client.post(f"/v3/{self._domain}/messages", data=_multi(data))
        )
        http.check(self.name, response)
        answer = http.body(self.name, response)
        if not isinstance(answer, dict) or not answer.get("id"):
            raise http.unexpected(self.name, response)
        message_id = str(answer["id"])
        return [SendResult(m.delivery_id, provider_message_id=message_id) for m in messages]

    def check(self) -> str:
        """An authenticated read: the sending domain and its state."""
        response = http.call(self.name, lambda: self._client.get(f"/v3/domains/{self._domain}"))
        http.check(self.name, response)
        state = response.json().get("domain", {}).get("state", "?")
        return f"API key works; domain {self._domain} is {state}"

    def close(self) -> None:
        self._client.close()


def _multi(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Form fields as httpx wants repeated keys: a list per key, in order."""
    out: dict[str, list[str]] = {}
    for key, value in fields:
        out.setdefault(key, []).append(value)
    return out
