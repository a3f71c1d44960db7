"""The registry: ``[provider] name`` to an adapter. A new provider is one module and one line.

Every adapter is handed out inside ``Redacted``: whatever text comes back from a provider
(a whole call's error, one message's refusal, even an unexpected exception) is scrubbed of
the secrets before the engine, a log, the ledger or an alert sees it.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta

from newsletter.config import Settings
from newsletter.errors import ConfigError, KeyReused, NewsletterError, ProviderError
from newsletter.messages import sender
from newsletter.providers.base import Message, Provider, SendResult
from newsletter.redaction import Redactor

log = logging.getLogger("newsletter.providers")


def _outbox(s: Settings) -> Provider:
    from newsletter.providers.outbox import OutboxProvider

    return OutboxProvider(s.path(s.provider.outbox_dir), sender(s))


def _postmark(s: Settings) -> Provider:
    from newsletter.providers.postmark import PostmarkProvider

    return PostmarkProvider(s, _key(s))


def _sendgrid(s: Settings) -> Provider:
    from newsletter.providers.sendgrid import SendGridProvider

    return SendGridProvider(s, _key(s))


def _mailgun(s: Settings) -> Provider:
    from newsletter.providers.mailgun import MailgunProvider

    return MailgunProvider(s, _key(s))


def _resend(s: Settings) -> Provider:
    from newsletter.providers.resend import ResendProvider

    return ResendProvider(s, _key(s))


def _ses(s: Settings) -> Provider:
    from newsletter.providers.ses import SesProvider

    return SesProvider(s)


def _smtp(s: Settings) -> Provider:
    from newsletter.providers.smtp import SmtpProvider

    return SmtpProvider(s, s.secrets.api_key)


PROVIDERS: dict[str, Callable[[Settings], Provider]] = {
    "outbox": _outbox,
    "postmark": _postmark,
    "sendgrid": _sendgrid,
    "mailgun": _mailgun,
    "resend": _resend,
    "ses": _ses,
    "smtp": _smtp,
}


def _key(s: Settings) -> str:
    if not s.secrets.api_key:
        raise ConfigError(f"NEWSLETTER_API_KEY is not set: {s.provider.name} needs the API key")
    return s.secrets.api_key


def make_provider(settings: Settings) -> Provider:
    """The configured provider, ready to send, its texts scrubbed of secrets."""
    return Redacted(PROVIDERS[settings.provider.name](settings), Redactor.for_settings(settings))


def check_provider(settings: Settings) -> str:
    """One authenticated no-op call to the provider; what it said, in a line."""
    provider = make_provider(settings)
    try:
        return provider.check()
    finally:
        provider.close()


class Redacted:
    """A provider whose every text is scrubbed of secrets; an unexpected exception from it
    becomes an ambiguous ``ProviderError`` (the call may have gone out before it broke)."""

    def __init__(self, inner: Provider, redact: Redactor) -> None:
        self.inner = inner
        self.redact = redact
        self.name: str = inner.name
        self.max_batch: int = inner.max_batch
        self.default_rate: float = inner.default_rate
        self.idempotent: bool = inner.idempotent
        self.key_memory: timedelta | None = inner.key_memory

    def send_batch(self, messages: Sequence[Message], batch_key: str) -> list[SendResult]:
        try:
            results = self.inner.send_batch(messages, batch_key)
        except Exception as exc:
            raise self._scrubbed(exc) from None
        return [replace(r, error=self.redact(r.error)) if r.error else r for r in results]

    def check(self) -> str:
        try:
            return self.redact(self.inner.check())
        except Exception as exc:
            raise self._scrubbed(exc) from None

    def close(self) -> None:
        self.inner.close()

    def _scrubbed(self, exc: Exception) -> NewsletterError:
        text = self.redact(str(exc))
        if isinstance(exc, KeyReused):
            return KeyReused(text)
        if isinstance(exc, ProviderError):
            cause = exc.__cause__
            log.debug("%s: %s", text, self.redact(repr(cause)) if cause else "no underlying error")
            return ProviderError(
                text, permanent=exc.permanent, retry_after=exc.retry_after, ambiguous=exc.ambiguous
            )
        if isinstance(exc, NewsletterError):
            return type(exc)(text)
        log.debug("%s", self.redact("".join(traceback.format_exception(exc))))
        return ProviderError(
            f"{self.name}: unexpected error ({type(exc).__name__}: {text})",
            permanent=True,
            ambiguous=True,
        )
