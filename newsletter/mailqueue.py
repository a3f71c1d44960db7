"""Transactional mail (signup confirmations, welcomes): queued in the request's transaction,
sent by a background thread of the web process, so no request waits on the provider.

Durable: a row is written before anything is sent and marked after; a row claimed by a
process that died is taken again once its lease runs out (a confirmation sent twice is
harmless; a welcome is a ledger delivery, so the ledger's rules apply to it). Several web
processes share the queue: a claim is one UPDATE … RETURNING (with SKIP LOCKED on PostgreSQL).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.orm import Session

from newsletter import confirmations, db, ledger
from newsletter.config import Settings
from newsletter.errors import NewsletterError, ProviderError
from newsletter.models import OutgoingMail, Subscriber, utcnow
from newsletter.providers.base import Provider
from newsletter.providers.registry import make_provider
from newsletter.sending import send_week
from newsletter.tokens import Tokens
from newsletter.weeks import IsoWeek

log = logging.getLogger("newsletter.mail")
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
POLL_SECONDS = 2.0


def queue(session: Session, kind: str, subscriber_id: int) -> None:
    """Queue one email (``confirm`` or ``welcome``) for a subscriber."""
    session.add(OutgoingMail(kind=kind, subscriber_id=subscriber_id, status="queued"))
    session.flush()


def confirmations_since(session: Session, subscriber_id: int, since: datetime) -> int:
    """How many confirmation emails were queued for this subscriber since ``since``."""
    return (
        session.scalar(
            select(func.count())
            .select_from(OutgoingMail)
            .where(
                OutgoingMail.subscriber_id == subscriber_id,
                OutgoingMail.kind == "confirm",
                OutgoingMail.created_at >= since,
            )
        )
        or 0
    )


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    subscriber_id: int | None
    attempts: int


def claim(session: Session, worker: str, now: datetime, limit: int = 20) -> list[Job]:
    """Take up to ``limit`` queued rows (or rows whose holder's lease ran out) for ``worker``."""
    pick = (
        select(OutgoingMail.id)
        .where(
            or_(
                OutgoingMail.status == "queued",
                (OutgoingMail.status == "sending") & (OutgoingMail.lease_until < now),
            )
        )
        .order_by(OutgoingMail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id.in_(pick.scalar_subquery()))
        .values(
            status="sending",
            claimed_by=worker,
            lease_until=now + LEASE,
            attempts=OutgoingMail.attempts + 1,
        )
        .returning(
            OutgoingMail.id, OutgoingMail.kind, OutgoingMail.subscriber_id, OutgoingMail.attempts
        )
    ).all()
    return [Job(*row) for row in sorted(rows)]


def finish(session: Session, job: Job, error: str | None, *, retry: bool = False) -> None:
    """Record the outcome: sent, failed, or back in the queue for another try."""
    if error is None:
        values: dict[str, object] = {"status": "sent", "sent_at": utcnow(), "error": None}
    elif retry and job.attempts < MAX_ATTEMPTS:
        values = {"status": "queued", "error": error}
    else:
        values = {"status": "failed", "error": error}
    session.execute(
        update(OutgoingMail).where(OutgoingMail.id == job.id).values(lease_until=None, **values)
    )


def pending(session: Session) -> int:
    """Rows not yet sent or failed (for tests and ``status``)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(OutgoingMail)
            .where(OutgoingMail.status.in_(("queued", "sending")))
        )
        or 0
    )


class MailSender:
    """The web process's background sender: wakes when a request queues mail, and polls
    (for mail queued by other processes, and for retries)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        tokens: Tokens,
        provider: Callable[[Settings], Provider] = make_provider,
    ) -> None:
        self.settings, self.engine, self.tokens = settings, engine, tokens
        self.factory = db.session_factory(engine)
        self._provider_factory = provider
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.worker = f"{socket.gethostname()}:{os.getpid()}:mail"

    def start(self) -> None:
        """Run in a daemon thread until ``stop``."""
        self._thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish the email in flight and return."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def wake(self) -> None:
        """Mail was queued: send it now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        provider: Provider | None = None
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    if provider is None:
                        provider = self._provider_factory(self.settings)
                    self.drain(provider)
                except Exception:  # the thread must outlive a database or provider outage
                    log.exception("transactional mail: sending failed; retrying shortly")
                self._wake.wait(POLL_SECONDS)
        finally:
            if provider is not None:
                provider.close()

    def drain(self, provider: Provider) -> int:
        """Send everything queued now; returns how many rows were handled."""
        handled = 0
        while not self._stop.is_set():
            with db.transaction(self.factory) as session:
                jobs = claim(session, self.worker, utcnow())
            if not jobs:
                return handled
            for job in jobs:
                self._one(provider, job)
                handled += 1
        return handled

    def _one(self, provider: Provider, job: Job) -> None:
        try:
            if job.kind == "welcome":
                error = self._welcome(provider, job)
            else:
                error = self._confirmation(provider, job)
            retry = False
        except NewsletterError as exc:
            error, retry = str(exc), not getattr(exc, "permanent", True)
        if error:
            log.error("transactional mail %s #%s: %s", job.kind, job.id, error)
        with db.transaction(self.factory) as session:
            finish(session, job, error, retry=retry)

    def _confirmation(self, provider: Provider, job: Job) -> str | None:
        with db.transaction(self.factory) as session:
            person = session.get(Subscriber, job.subscriber_id) if job.subscriber_id else None
            if person is None or person.status in ("active", "bounced", "complained"):
                return None  # confirmed or gone meanwhile: nothing to send
            message = confirmations.message(self.settings, self.tokens, person, job.id)
        (result,) = provider.send_batch([message], batch_key=f"mail-{job.id}")
        return None if result.ok else f"the provider refused it: {result.error}"

    def _welcome(self, provider: Provider, job: Job) -> str | None:
        """A delivery of the latest edition, sent by the engine like any other (claims, fate,
        takeovers): the welcome cannot be lost or doubled in a way a send could not."""
        with db.transaction(self.factory) as session:
            week = ledger.add_welcome(session, job.subscriber_id) if job.subscriber_id else None
        if week is None:
            return None  # no edition yet, or they have it already
        report = send_week(
            self.settings, IsoWeek.parse(week), engine=self.engine, provider=provider
        )
        if report.stopped:
            raise ProviderError(f"the welcome did not go out: {report.stopped}", permanent=False)
        return None
