"""The exception tree.

NewsletterError
 ├── ConfigError      a bad config file, key, value or missing secret
 ├── InputError       a bad tip file, address, CSV, reference or argument
 ├── DatabaseError    the database is missing, unreachable or behind the migrations
 └── ProviderError    the email provider refused or failed (``permanent``, ``retry_after``)

Every one of them is a foreseeable failure: the CLI prints its message as one line and exits 1.
Anything else is a bug.
"""

from __future__ import annotations


class NewsletterError(Exception):
    """A foreseeable failure: the CLI prints it as one line, exit 1."""


class ConfigError(NewsletterError):
    """The configuration is wrong; the message names the key."""


class InputError(NewsletterError):
    """User input is wrong; the message names the file, line, key or address."""


class DatabaseError(NewsletterError):
    """The database cannot be used as it is (missing, unreachable, behind the migrations)."""


class ProviderError(NewsletterError):
    """The provider failed for a whole call.

    ``permanent``: a retry cannot help (bad key, suspended account). ``retry_after``: seconds
    the provider asked us to wait. ``uncertain``: the call may have reached the provider
    (a timeout or a dropped connection), so its messages may have gone out.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        uncertain: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.uncertain = uncertain
