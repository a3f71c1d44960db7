"""Signed, purpose-bound tokens for the links in emails (itsdangerous).

One salt per purpose, so an unsubscribe token can never confirm a signup. Unsubscribe tokens
never expire (a link in a years-old email must still work); confirm tokens last 7 days.
Old signing keys (NEWSLETTER_OLD_SECRET_KEYS) are still accepted after a rotation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadData, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from newsletter.errors import InputError

UNSUBSCRIBE = "unsubscribe"
RESUBSCRIBE = "resubscribe"
CONFIRM = "confirm"
CONFIRM_MAX_AGE = timedelta(days=7)


@dataclass(frozen=True)
class LinkToken:
    """What a token says: who, and from which edition (0 when none)."""

    subscriber_id: int
    edition_id: int = 0


class Tokens:
    """Makes and checks tokens with the current key; checks with old keys too."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys or not keys[0]:
            raise InputError("a signing key is needed to make links")
        # itsdangerous signs with the LAST key of the list and accepts any of them.
        ordered = list(reversed(keys))
        self._plain = {p: URLSafeSerializer(ordered, salt=p) for p in (UNSUBSCRIBE, RESUBSCRIBE)}
        self._timed = URLSafeTimedSerializer(ordered, salt=CONFIRM)

    def make(self, purpose: str, subscriber_id: int, edition_id: int = 0) -> str:
        """A token for ``purpose`` (unsubscribe, resubscribe or confirm)."""
        payload = [subscriber_id, edition_id] if edition_id else [subscriber_id]
        if purpose == CONFIRM:
            return str(self._timed.dumps(payload))
        return str(self._plain[purpose].dumps(payload))

    def read(self, purpose: str, token: str) -> LinkToken:
        """What the token says; ``InputError`` if forged, damaged, expired, or for another use."""
        try:
            if purpose == CONFIRM:
                payload = self._timed.loads(token, max_age=int(CONFIRM_MAX_AGE.total_seconds()))
            else:
                payload = self._plain[purpose].loads(token)
        except SignatureExpired:
            raise InputError("this link has expired") from None
        except BadData:
            raise InputError("this link is not valid") from None
        if not (
            isinstance(payload, list)
            and 1 <= len(payload) <= 2
            and all(isinstance(i, int) for i in payload)
        ):
            raise InputError("this link is not valid")
        return LinkToken(*payload)
