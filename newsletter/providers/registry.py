"""The registry: ``[provider] name`` to an adapter. A new provider is one module and one line."""

from __future__ import annotations

from collections.abc import Callable

from newsletter.config import Settings
from newsletter.errors import ConfigError
from newsletter.messages import sender
from newsletter.providers.base import Provider


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
    """The configured provider, ready to send."""
    return PROVIDERS[settings.provider.name](settings)


def check_provider(settings: Settings) -> str:
    """One authenticated no-op call to the provider; what it said, in a line."""
    provider = make_provider(settings)
    try:
        check = getattr(provider, "check", None)
        if check is None:
            return "nothing to check (no account involved)"
        return str(check())
    finally:
        provider.close()
