"""Postmark: ``POST /email/batch``, up to 500 messages a call on a Broadcast message stream.

Documented at https://postmarkapp.com/developer/api/email-api#send-batch-emails. Each message
gets its own result in the answer; ErrorCode 406 (inactive recipient) and 300 (invalid
address) fail that message alone and mark its subscriber bounced. Postmark has no
idempotency key, so a batch whose answer was lost is in doubt.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from newsletter.config import Settings
from newsletter.providers import http
from newsletter.providers.base import Message, Record, SendResult, mailbox

SUPPRESSED_CODES = {300, 406}
# Postmark sets these itself or takes them as fields of their own: never in Headers.
_NOT_HEADERS = {"message-id", "reply-to", "from", "to", "subject"}


class PostmarkProvider:
    name = "postmark"
    max_batch = 500
    default_rate = 0.0  # Postmark publishes no per-second limit for batches
    idempotent = False
    key_memory: timedelta | None = None
    sequential = False

    def __init__(self, settings: Settings) -> None:
        self._stream = settings.provider.message_stream
        base = settings.provider.api_base or "https://api.postmarkapp.com"
        headers = {"X-Postmark-Server-Token": http.api_key(settings), **http.JSON_HEADERS}
        self._client = http.client(base, headers, concurrency=settings.provider.concurrency)

    def payload(self, m: Message) -> list[bytes]:
        """One message of the batch, encoded (in pieces)."""
        rest: dict[str, Any] = {
            "From": m.sender,
            "To": mailbox(m.to_name, m.to),
            "Subject": m.subject,
            "MessageStream": self._stream,
            "Tag": "newsletter",
            "Headers": [
                {"Name": k, "Value": v}
                for k, v in m.headers.items()
                if k.lower() not in _NOT_HEADERS
            ],
            "Metadata": dict(m.metadata),
            "TrackOpens": False,
            "TrackLinks": "None",  # never rewrite links: the unsubscribe link must stay ours
        }
        if m.reply_to:
            rest["ReplyTo"] = m.reply_to
        return http.with_bodies("HtmlBody", "TextBody", m, rest)

    def send_batch(
        self, messages: Sequence[Message], batch_key: str, record: Record | None = None
    ) -> list[SendResult]:
        body = http.json_array(self.payload(m) for m in messages)
        response = http.call(
            self.name,
            lambda: self._client.post(
                "/email/batch", content=body.chunks(), headers=body.headers()
            ),
        )
        http.check(self.name, response)
        answers = http.body(self.name, response)
        if not isinstance(answers, list) or len(answers) != len(messages):
            raise http.unexpected(self.name, response)
        if not all(isinstance(a, dict) for a in answers):
            raise http.unexpected(self.name, response)
        return [self._result(m, a) for m, a in zip(messages, answers, strict=True)]

    def _result(self, m: Message, answer: dict[str, Any]) -> SendResult:
        code = answer.get("ErrorCode", 0)
        code = code if isinstance(code, int) else -1
        if code == 0:
            return SendResult(m.delivery_id, provider_message_id=str(answer.get("MessageID")))
        return SendResult(
            m.delivery_id,
            error=f"postmark {code}: {answer.get('Message', '')}",
            permanent=True,
            suppressed=code in SUPPRESSED_CODES,
        )

    def check(self) -> str:
        """An authenticated read: the server's settings."""
        response = http.call(self.name, lambda: self._client.get("/server"))
        http.check(self.name, response)
        server = http.body(self.name, response)
        name = server.get("Name", "?") if isinstance(server, dict) else "?"
        return f"server token works (server {name!r})"

    def close(self) -> None:
        self._client.close()
