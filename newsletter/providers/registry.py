"""The registry: ``[provider] name`` to an adapter."""

from __future__ import annotations

from newsletter.config import Settings
from newsletter.errors import ConfigError
from newsletter.messages import sender
from newsletter.providers.base import Provider
from newsletter.providers.outbox import OutboxProvider


def make_provider(settings: Settings) -> Provider:
    """The configured provider, ready to send."""
    name = settings.provider.name
    if name == "outbox":
        return OutboxProvider(settings.path(settings.provider.outbox_dir), sender(settings))
    raise ConfigError(f"[provider] name: the {name!r} adapter is not built yet; use 'outbox'")
