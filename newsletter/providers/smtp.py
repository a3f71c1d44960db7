"""SMTP: any relay, one persistent connection per sending thread, one message per batch.

``api_base`` is ``smtp://user@host:587`` (STARTTLS when the server offers it) or
``smtps://user@host:465`` (TLS); the password is NEWSLETTER_API_KEY. 4xx replies are
transient, 5xx refusals fail that message. A connection lost after the message was handed
over leaves it in doubt (SMTP has no idempotency).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from newsletter.config import Settings
from newsletter.errors import ConfigError, ProviderError
from newsletter.messages import MessageError, mime_bytes, sender
from newsletter.providers.base import Message, SendResult


class SmtpProvider:
    name = "smtp"
    max_batch = 1
    default_rate = 0.0
    idempotent = False
    key_memory: timedelta | None = None

    def __init__(self, settings: Settings, password: str) -> None:
        url = urlsplit(settings.provider.api_base)
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise ConfigError(
                "[provider] api_base: SMTP needs smtp://user@host:587 or smtps://user@host:465"
            )
        self._tls = url.scheme == "smtps"
        self._host = url.hostname
        self._port = url.port or (465 if self._tls else 587)
        self._user = unquote(url.username or "")
        self._password = password
        self._from = sender(settings)
        self._envelope = settings.newsletter.from_email
        self._local = threading.local()
        self._all: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    def _connection(self) -> smtplib.SMTP:
        conn: smtplib.SMTP | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            if self._tls:
                conn = smtplib.SMTP_SSL(
                    self._host, self._port, timeout=30, context=ssl.create_default_context()
                )
            else:
                conn = smtplib.SMTP(self._host, self._port, timeout=30)
                conn.ehlo()
                if conn.has_extn("starttls"):
                    conn.starttls(context=ssl.create_default_context())
                    conn.ehlo()
            if self._user:
                conn.login(self._user, self._password)
        except smtplib.SMTPAuthenticationError as exc:
            raise ProviderError(f"smtp: login refused ({exc.smtp_code})", permanent=True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ProviderError(
                f"smtp: cannot connect to {self._host}:{self._port} ({exc})", permanent=False
            ) from exc
        self._local.conn = conn
        with self._lock:
            self._all.append(conn)
        return conn

    def send_batch(self, messages: Sequence[Message], batch_key: str) -> list[SendResult]:
        return [self._send_one(m) for m in messages]

    def _send_one(self, m: Message) -> SendResult:
        try:
            data = mime_bytes(m, self._from)
        except MessageError as exc:
            return SendResult(m.delivery_id, error=str(exc), permanent=True)
        conn = self._connection()
        options = () if m.to.isascii() else ("SMTPUTF8",)
        try:
            conn.sendmail(self._envelope, [m.to], data, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            return self._refused(m, code, reply, suppressed=code in (550, 551, 553))
        except smtplib.SMTPResponseException as exc:
            return self._refused(m, exc.smtp_code, exc.smtp_error, suppressed=False)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._local.conn = None
            raise ProviderError(
                f"smtp: connection lost ({exc})", permanent=False, ambiguous=True
            ) from exc
        return SendResult(m.delivery_id, provider_message_id=m.headers.get("Message-ID"))

    def _refused(
        self, m: Message, code: int, reply: bytes | str, *, suppressed: bool
    ) -> SendResult:
        """4xx: try the batch again later; 5xx: this message fails."""
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
        if 400 <= code < 500:
            raise ProviderError(f"smtp {code}: {text}", permanent=False)
        return SendResult(
            m.delivery_id, error=f"smtp {code}: {text}", permanent=True, suppressed=suppressed
        )

    def check(self) -> str:
        """Connect, log in, and say NOOP."""
        conn = self._connection()
        code, _ = conn.noop()
        return (
            f"connected to {self._host}:{self._port}"
            + (" and logged in" if self._user else "")
            + f" (NOOP {code})"
        )

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(OSError, smtplib.SMTPException):
                    conn.quit()
            self._all.clear()
