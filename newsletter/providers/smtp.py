"""SMTP: any relay, as a bulk sender: one connection per sending thread, many messages per batch.

``api_base`` is ``smtp://user@host:587`` (or ``smtps://user@host:465`` for implicit TLS); the
password is NEWSLETTER_API_KEY. TLS is required by default (``[provider] smtp_tls``:
``starttls``, ``tls``, or ``none`` for a relay on this machine only): a server that does not
offer STARTTLS is refused, and AUTH never goes over a connection without TLS
(https://www.rfc-editor.org/rfc/rfc8314). ``smtp_ca_file`` trusts a private CA.

A batch goes message by message over the thread's connection, each reported as soon as the
server accepted or refused it, so a connection lost mid-batch leaves only the message in the
DATA phase in doubt (SMTP has no idempotency). 4xx replies are transient, 5xx refusals fail
that message.
"""

from __future__ import annotations

import contextlib
import ipaddress
import smtplib
import ssl
import threading
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from newsletter.config import Settings
from newsletter.errors import ConfigError, ProviderError
from newsletter.providers.base import Message, Record, SendResult
from newsletter.providers.mime import one_by_one

TLS_MODES = ("starttls", "tls", "none")
SUPPRESSED_CODES = {550, 551, 553}


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SmtpProvider:
    name = "smtp"
    max_batch = 100
    default_rate = 0.0
    idempotent = False
    key_memory: timedelta | None = None
    sequential = True

    def __init__(self, settings: Settings) -> None:
        p = settings.provider
        url = urlsplit(p.api_base)
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise ConfigError(
                "[provider] api_base: SMTP needs smtp://user@host:587 or smtps://user@host:465"
            )
        self._tls = "tls" if url.scheme == "smtps" else p.smtp_tls
        self._host = url.hostname
        self._port = url.port or (465 if self._tls == "tls" else 587)
        self._user = unquote(url.username or "")
        self._password = settings.secrets.api_key
        if self._tls == "none" and not _loopback(self._host):
            raise ConfigError(
                f'[provider] smtp_tls = "none" is allowed only for a relay on this machine, '
                f"not {self._host}: mail and passwords would cross the network in clear"
            )
        if self._tls == "none" and self._user:
            raise ConfigError(
                '[provider] smtp_tls = "none": a login (the user in api_base) needs TLS'
            )
        self._context = ssl.create_default_context(cafile=p.smtp_ca_file or None)
        self._local = threading.local()
        self._all: list[smtplib.SMTP] = []
        self._lock = threading.Lock()
        self.tls_used = ""

    # ---- connections ---------------------------------------------------------------------

    def _connection(self) -> smtplib.SMTP:
        conn: smtplib.SMTP | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = self._connect()
        self._local.conn = conn
        with self._lock:
            self._all.append(conn)
        return conn

    def _connect(self) -> smtplib.SMTP:
        where = f"{self._host}:{self._port}"
        try:
            if self._tls == "tls":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    self._host, self._port, timeout=30, context=self._context
                )
                self.tls_used = f"TLS ({conn.sock.version()})"  # type: ignore[union-attr]
            else:
                conn = smtplib.SMTP(self._host, self._port, timeout=30)
                conn.ehlo()
                if self._tls == "starttls":
                    if not conn.has_extn("starttls"):
                        conn.close()
                        raise ProviderError(
                            f"smtp: {where} does not offer STARTTLS and TLS is required "
                            '([provider] smtp_tls; "none" only for a relay on this machine)',
                            permanent=True,
                        )
                    conn.starttls(context=self._context)
                    conn.ehlo()
                    self.tls_used = f"STARTTLS ({conn.sock.version()})"  # type: ignore[union-attr]
                else:
                    self.tls_used = "no TLS (a relay on this machine)"
            if self._user:
                conn.login(self._user, self._password)
        except smtplib.SMTPAuthenticationError as exc:
            raise ProviderError(f"smtp: login refused ({exc.smtp_code})", permanent=True) from exc
        except ssl.SSLError as exc:
            raise ProviderError(
                f"smtp: TLS with {where} failed ({exc.reason or exc})", permanent=True
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ProviderError(
                f"smtp: cannot connect to {where} ({exc})", permanent=False
            ) from exc
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                conn.close()

    # ---- sending -------------------------------------------------------------------------

    def send_batch(
        self, messages: Sequence[Message], batch_key: str, record: Record | None = None
    ) -> list[SendResult]:
        return one_by_one(messages, self._send_one, record)

    def _send_one(self, m: Message, data: bytes) -> SendResult:
        options = [] if m.to.isascii() else ["SMTPUTF8"]
        for fresh in (False, True):
            conn = self._connection()
            try:
                code, reply = conn.mail(m.sender_address, options)
                if code != 250:
                    conn.rset()
                    return self._refused(m, code, reply)
                code, reply = conn.rcpt(m.to)
                if code not in (250, 251):
                    conn.rset()
                    return self._refused(m, code, reply)
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                # Before DATA nothing was handed over: a connection gone stale while idle is
                # opened again once.
                self._drop()
                if fresh:
                    raise ProviderError(f"smtp: connection lost ({exc})", permanent=False) from exc
                continue
            break
        try:
            code, reply = conn.data(data)
        except smtplib.SMTPDataError as exc:
            return self._refused(m, exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise ProviderError(
                f"smtp: connection lost while handing over the message to {m.to} ({exc})",
                permanent=False,
                ambiguous=True,
            ) from exc
        return SendResult(m.delivery_id, provider_message_id=m.headers.get("Message-ID"))

    def _refused(self, m: Message, code: int, reply: bytes | str) -> SendResult:
        """4xx: try the batch again later; 5xx: this message fails."""
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
        if 400 <= code < 500:
            raise ProviderError(f"smtp {code}: {text}", permanent=False)
        return SendResult(
            m.delivery_id,
            error=f"smtp {code}: {text}",
            permanent=True,
            suppressed=code in SUPPRESSED_CODES,
        )

    def check(self) -> str:
        """Connect (with the TLS required), log in, and say NOOP."""
        conn = self._connection()
        code, _ = conn.noop()
        login = f", logged in as {self._user}" if self._user else ""
        return f"connected to {self._host}:{self._port} with {self.tls_used}{login} (NOOP {code})"

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(OSError, smtplib.SMTPException):
                    conn.quit()
            self._all.clear()
