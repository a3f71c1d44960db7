"""Public signup: the same work, and the same answer, whatever the address's state.

Every signup writes its attempt (the per-IP limit, shared by every web process through the
database) and, when one is due, queues a confirmation email: nothing is sent inside the
request, so the answer time says nothing about the address. Confirmations to one address are
limited (``[signup] confirm_interval_minutes`` and ``confirm_per_day``), and an address
suppressed for a bounce or a complaint gets none.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from newsletter import mailqueue, subscribers
from newsletter.config import SignupSection
from newsletter.errors import NewsletterError
from newsletter.models import SignupAttempt, utcnow
from newsletter.names import PersonName
from newsletter.suppression import SuppressionList


class TooManySignups(NewsletterError):
    """This client sent more signups than ``[signup] per_ip_limit`` allows."""


def client_key(secret_keys: list[str], client: str) -> str:
    """A keyed hash of the client's IP address (the table holds no IP)."""
    key = hmac.digest(secret_keys[0].encode(), b"signup-client-v1", hashlib.sha256)
    return hmac.digest(key, client.encode(), hashlib.sha256).hex()


def request(
    session: Session,
    suppressions: SuppressionList,
    limits: SignupSection,
    email: str,
    name: PersonName,
    client: str,
) -> str:
    """Record a signup and queue its confirmation if one is due; returns what happened
    (``queued``, ``active``, ``suppressed``, ``limited``), for the log only: the page is the
    same for all. Bad input raises ``InputError``; a client over its limit ``TooManySignups``.
    """
    now = utcnow()
    # Written first: the write lock serialises signups on SQLite, so two at once cannot
    # both find "no confirmation sent yet".
    session.add(SignupAttempt(client=client, at=now))
    session.flush()
    window = now - timedelta(minutes=limits.per_ip_window_minutes)
    recent = session.scalar(
        select(func.count())
        .select_from(SignupAttempt)
        .where(SignupAttempt.client == client, SignupAttempt.at > window)
    )
    if limits.per_ip_limit and (recent or 0) > limits.per_ip_limit:
        raise TooManySignups("too many signups from this address; try again later")
    person = subscribers.request_signup(session, suppressions, email, name)
    if person is None:
        return "active"
    if isinstance(person, str):
        return person
    if not _confirmation_due(session, limits, person.id):
        return "limited"
    mailqueue.queue(session, "confirm", person.id)
    return "queued"


def _confirmation_due(session: Session, limits: SignupSection, subscriber_id: int) -> bool:
    now = utcnow()
    interval = timedelta(minutes=limits.confirm_interval_minutes)
    if interval and mailqueue.confirmations_since(session, subscriber_id, now - interval):
        return False
    today = mailqueue.confirmations_since(session, subscriber_id, now - timedelta(days=1))
    return today < limits.confirm_per_day


def forget_old_attempts(session: Session, older_than: timedelta = timedelta(days=1)) -> int:
    """Drop attempt rows no limit looks at any more; returns how many."""
    result = session.execute(delete(SignupAttempt).where(SignupAttempt.at < utcnow() - older_than))
    return int(result.rowcount)  # type: ignore[attr-defined]
