"""The exception tree.

NewsletterError           a foreseeable failure: the CLI prints it as one line
 ├── ConfigError          a bad config file, key, value or missing secret
 ├── InputError           a bad tip file, address, CSV, reference or argument
 ├── DatabaseError        the database is missing, unreachable, locked or behind the migrations
 └── ProviderError        the email provider refused or failed a whole call
      └── KeyReused       the provider already saw this batch's idempotency key with another body

A ``ProviderError`` says three things the fate of a batch is decided from (``newsletter.fate``):
``permanent`` (a retry cannot help: bad key, suspended account), ``retry_after`` (seconds the
provider asked us to wait) and ``ambiguous`` (the call may have reached the provider: a read
timeout, a connection dropped after the request was written, a gateway's 502/503/504 or an HTML
5xx, a 2xx whose body cannot be read). Anything that is not a ``NewsletterError`` is a bug.
"""

from __future__ import annotations


class NewsletterError(Exception):
    """A foreseeable failure: the CLI prints it as one line, exit 1."""


class ConfigError(NewsletterError):
    """The configuration is wrong; the message names the key."""


class InputError(NewsletterError):
    """User input is wrong; the message names the file, line, key or address."""


class DatabaseError(NewsletterError):
    """The database cannot be used (missing, unreachable, locked, behind the migrations)."""


class ProviderError(NewsletterError):
    """The provider failed a whole call; see the module docstring for the three flags."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class KeyReused(ProviderError):
    """The batch key was used before with another body: the provider will not say what it sent.

    Never read as "sent": the batch is reported in doubt.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True, ambiguous=True)
