"""The suppression list: addresses that must not be mailed, kept as keyed hashes only.

Each entry is HMAC-SHA256 of the normalised address under a key derived from
``NEWSLETTER_SECRET_KEY`` (never the secret itself), with the reason, the date and where it
came from. The list holds no address: it can only answer "is this address on it?". Entries
written under an earlier key still match while that key is listed in
``NEWSLETTER_OLD_SECRET_KEYS``.

Only ``subscribers.py`` writes here; every door goes through it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.errors import ConfigError
from newsletter.models import Suppression, utcnow

_PURPOSE = b"suppression-v1"
# A person may lift these themselves (signup + confirm); the others only the operator.
SELF_LIFTABLE = ("unsubscribed", "erased", "imported")
_BATCH = 900  # SQLite's bound-parameter limit, with room to spare


class SuppressionList:
    """Keyed-hash lookups and writes; built from the signing keys, newest first."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        self._keys = [
            hmac.digest(secret.encode(), _PURPOSE, hashlib.sha256) for secret in secret_keys
        ]

    @classmethod
    def from_settings(cls, settings: Settings) -> SuppressionList:
        """The list keyed by ``NEWSLETTER_SECRET_KEY`` (and the old keys, for lookups)."""
        secrets = settings.secrets
        keys = [secrets.secret_key, *secrets.old_secret_keys] if secrets.secret_key else []
        return cls(keys)

    def digest(self, address: str) -> str:
        """The hash stored for ``address`` (under the current key)."""
        if not self._keys:
            raise ConfigError(
                "NEWSLETTER_SECRET_KEY is not set: the suppression list is keyed with it "
                "(make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return hmac.digest(self._keys[0], address.encode(), hashlib.sha256).hex()

    def _all_digests(self, address: str) -> list[str]:
        data = address.encode()
        return [hmac.digest(key, data, hashlib.sha256).hex() for key in self._keys]

    def reasons(self, session: Session, addresses: Iterable[str]) -> dict[str, str]:
        """``{address: reason}`` for those of ``addresses`` that are suppressed."""
        by_digest: dict[str, str] = {}
        for address in addresses:
            for d in self._all_digests(address):
                by_digest[d] = address
        if not by_digest:
            return {}
        found: dict[str, str] = {}
        digests = list(by_digest)
        for start in range(0, len(digests), _BATCH):
            part = digests[start : start + _BATCH]
            rows = session.execute(
                select(Suppression.digest, Suppression.reason).where(Suppression.digest.in_(part))
            )
            for digest, reason in rows:
                found[by_digest[digest]] = reason
        return found

    def entry(self, session: Session, address: str) -> Suppression | None:
        """The list's entry for ``address``, if it is on it."""
        digests = self._all_digests(address)
        if not digests:
            return None
        return session.scalars(select(Suppression).where(Suppression.digest.in_(digests))).first()

    def add(
        self, session: Session, address: str, reason: str, via: str, at: datetime | None = None
    ) -> bool:
        """Put ``address`` on the list; False if it was there already (a complaint still
        replaces a milder reason: it can never be lifted by the person)."""
        found = self.entry(session, address)
        if found is not None:
            if reason == "complained" and found.reason != "complained":
                found.reason, found.at, found.via = reason, at or utcnow(), via
            return False
        session.add(
            Suppression(digest=self.digest(address), reason=reason, via=via, at=at or utcnow())
        )
        session.flush()
        return True

    def add_many(
        self, session: Session, entries: Sequence[tuple[str, str, datetime]], via: str
    ) -> int:
        """Bulk form of ``add`` for imports: (address, reason, at) rows not yet on the list."""
        known = self.reasons(session, [address for address, _, _ in entries])
        fresh = {}
        for address, reason, at in entries:
            if address not in known and address not in fresh:
                fresh[address] = Suppression(
                    digest=self.digest(address), reason=reason, via=via, at=at
                )
        session.add_all(fresh.values())
        session.flush()
        return len(fresh)

    def lift(self, session: Session, address: str) -> str | None:
        """Take ``address`` off the list; returns the reason it was on it, if it was."""
        found = self.entry(session, address)
        if found is None:
            return None
        session.execute(
            delete(Suppression).where(Suppression.digest.in_(self._all_digests(address)))
        )
        return found.reason


def counts(session: Session) -> dict[str, int]:
    """How many entries the list holds, by reason."""
    rows = session.execute(select(Suppression.reason, func.count()).group_by(Suppression.reason))
    return {str(reason): int(count) for reason, count in rows}
