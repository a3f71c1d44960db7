"""Secrets scrubbed out of any text before it is printed, logged, stored or alerted.

A provider's error may echo what it was given: ``401 Invalid token 're_…'``, the value of an
``Authorization: Bearer …`` or ``Basic …`` header, the base64 of ``api:KEY`` (HTTP basic
auth) or of ``\\0user\\0password`` (SMTP AUTH PLAIN). Each known secret is removed in all
those forms, and any Bearer/Basic credential whatever it holds.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote

from newsletter.config import Settings

MASK = "***"
_SCHEMES = re.compile(r"(?i)\b(Bearer|Basic|Token)(\s+|%20)[A-Za-z0-9._~+/=%-]{4,}")
_SHORTEST = 6  # shorter "secrets" would mask ordinary words


def _b64(text: str) -> set[str]:
    raw = text.encode()
    encoded = base64.b64encode(raw).decode()
    return {encoded, encoded.rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("=")}


class Redactor:
    """Callable: ``redact(text)`` is ``text`` without any of the secrets it was made with."""

    def __init__(self, secrets: Iterable[str], users: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in (s for s in secrets if len(s) >= _SHORTEST):
            forms |= {secret, quote(secret, safe=""), *_b64(secret)}
            for user in {"api", *users}:
                forms |= _b64(f"{user}:{secret}") | _b64(f"\0{user}\0{secret}")
        ordered = sorted(forms, key=len, reverse=True)  # the longest form first
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    @classmethod
    def for_settings(cls, settings: Settings) -> Redactor:
        """Every secret the settings hold (and the SMTP user's AUTH forms)."""
        s = settings.secrets
        users = [settings.provider.api_base.partition("//")[2].partition("@")[0]]
        return cls([s.api_key, s.secret_key, s.webhook_secret, *s.old_secret_keys, *s.cloud], users)

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return _SCHEMES.sub(lambda m: f"{m[1]} {MASK}", text)
