"""The registry: ``[provider] name`` to an adapter. A new provider is one module and one line.

Every adapter is handed out inside ``Redacted``: whatever text comes back from a provider
(a whole call's error, one message's refusal, even an unexpected exception) is scrubbed of
the secrets before the engine, a log, the ledger or an alert sees it.
"""

from __future__ import annotations

import importlib
import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta

from newsletter.config import Settings
from newsletter.errors import KeyReused, NewsletterError, ProviderError
from newsletter.providers.base import Message, Provider, Record, SendResult
from newsletter.redaction import Redactor

log = logging.getLogger("newsletter.providers")

# The one table of providers: name -> "module:class". Every adapter takes the settings alone.
PROVIDERS: dict[str, str] = {
    "outbox": "newsletter.providers.outbox:OutboxProvider",
    "postmark": "newsletter.providers.postmark:PostmarkProvider",
    "sendgrid": "newsletter.providers.sendgrid:SendGridProvider",
    "mailgun": "newsletter.providers.mailgun:MailgunProvider",
    "resend": "newsletter.providers.resend:ResendProvider",
    "ses": "newsletter.providers.ses:SesProvider",
    "smtp": "newsletter.providers.smtp:SmtpProvider",
}


def adapter(name: str) -> Callable[[Settings], Provider]:
    """The adapter class of a provider (imported on first use: boto3 only for SES)."""
    module, _, cls = PROVIDERS[name].partition(":")
    made: Callable[[Settings], Provider] = getattr(importlib.import_module(module), cls)
    return made


def make_provider(settings: Settings) -> Provider:
    """The configured provider, ready to send, its texts scrubbed of secrets."""
    return Redacted(adapter(settings.provider.name)(settings), Redactor.for_settings(settings))


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
        self.sequential: bool = inner.sequential

    def send_batch(
        self, messages: Sequence[Message], batch_key: str, record: Record | None = None
    ) -> list[SendResult]:
        scrubbed = None if record is None else (lambda r: record(self._clean(r)))
        try:
            results = self.inner.send_batch(messages, batch_key, scrubbed)
        except Exception as exc:
            raise self._scrubbed(exc) from None
        return [self._clean(r) for r in results]

    def _clean(self, result: SendResult) -> SendResult:
        return replace(result, error=self.redact(result.error)) if result.error else result

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
