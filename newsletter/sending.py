"""The sending engine: this week's edition, batch by batch, exactly once per subscriber.

``send_week`` opens (or continues) the week's edition, settles batches that an earlier,
interrupted sender left claimed, then runs ``concurrency`` threads that each claim a batch
(committed), build its messages, send them through the provider (retrying transient errors
with capped exponential backoff and full jitter, honouring Retry-After), and commit each
message's result. A permanent error for the whole call stops every thread after its batch.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import count, groupby

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from newsletter import db, editions, ledger
from newsletter.config import Settings
from newsletter.errors import InputError, ProviderError
from newsletter.messages import MessageFactory
from newsletter.models import Edition, Tip, utcnow
from newsletter.providers.base import Message, Provider, SendResult, Settles
from newsletter.providers.registry import make_provider
from newsletter.ratelimit import TokenBucket
from newsletter.tokens import Tokens
from newsletter.weeks import IsoWeek

log = logging.getLogger("newsletter.sending")

Progress = Callable[[str, int], None]
"""Called with ("total", n) once, then ("sent" | "failed" | "skipped" | "in_doubt", n)."""


@dataclass
class EditionReport:
    """What a send did, and where the edition stands."""

    week: str
    tip_title: str
    recipients: int
    counts: dict[str, int]
    created: bool
    sent_now: int = 0
    seconds: float = 0.0
    stopped: str | None = None

    @property
    def finished(self) -> bool:
        return self.counts["pending"] == 0 and self.counts["claimed"] == 0

    @property
    def troubled(self) -> bool:
        """Failed or in-doubt rows: the CLI exits 3."""
        return bool(self.counts["failed"] or self.counts["in_doubt"])


@dataclass
class _Shared:
    """What the threads of one send share."""

    stop: threading.Event
    abort: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    batch_numbers: count[int] = field(default_factory=lambda: count(1))
    sent: int = 0

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            if not self.abort:
                self.abort.append(exc)
        self.stop.set()


def send_week(
    settings: Settings,
    week: IsoWeek,
    *,
    engine: Engine,
    provider: Provider | None = None,
    tip_ref: str | None = None,
    resend_in_doubt: bool = False,
    join_only: bool = False,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    sleep: Callable[[float], None] | None = None,
) -> EditionReport:
    """Send (or continue) the edition of ``week``; see the module docstring."""
    tokens = Tokens(settings.require_secret_key())
    factory = db.session_factory(engine)
    if join_only:
        with db.transaction(factory) as session:
            if editions.find(session, week) is None:
                raise InputError(
                    f"no edition for {week} is being sent: start one with `newsletter send`"
                )
    edition, created = editions.open_edition(factory, settings, week, tip_ref=tip_ref)
    owned = provider is None
    provider = provider or make_provider(settings)
    started = time.monotonic()
    shared = _Shared(stop or threading.Event())
    try:
        run = _Run(settings, factory, provider, edition, tokens, shared, progress, sleep)
        run.execute(resend_in_doubt)
    finally:
        if owned:
            provider.close()
    with db.transaction(factory) as session:
        current = session.get(Edition, edition.id)
        assert current is not None
        counts = editions.finish(session, current)
        tip = session.get(Tip, current.tip_id)
    report = EditionReport(
        week=str(week),
        tip_title=tip.title if tip else "?",
        recipients=current.recipients,
        counts=counts,
        created=created,
        sent_now=shared.sent,
        seconds=time.monotonic() - started,
        stopped=str(shared.abort[0]) if shared.abort else None,
    )
    log.info(
        "edition %s: %d sent now; %s; %.1f s",
        week,
        shared.sent,
        ", ".join(f"{n} {s}" for s, n in counts.items() if n),
        report.seconds,
    )
    if shared.abort:
        exc = shared.abort[0]
        if isinstance(exc, ProviderError):
            raise ProviderError(
                f"{exc} (edition {week}: {counts['sent']} sent, {counts['pending']} still pending; "
                "run `newsletter send` again to continue)",
                permanent=exc.permanent,
            ) from exc
        raise exc
    return report


class _Run:
    """One send of one edition by this process."""

    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        provider: Provider,
        edition: Edition,
        tokens: Tokens,
        shared: _Shared,
        progress: Progress | None,
        sleep: Callable[[float], None] | None,
    ) -> None:
        p = settings.provider
        self.factory = factory
        self.provider = provider
        self.edition_id = edition.id
        self.week = edition.week
        self.shared = shared
        self.progress = progress or (lambda kind, n: None)
        self.sleep = sleep or (lambda seconds: shared.stop.wait(seconds) and None)
        self.batch_size = min(provider.max_batch, p.batch_size or provider.max_batch)
        self.lease = timedelta(seconds=p.lease_seconds)
        self.max_attempts = p.max_attempts
        self.retry_cap = p.retry_cap_seconds
        self.concurrency = p.concurrency
        self.bucket = TokenBucket(p.rate_limit or provider.default_rate, burst=self.batch_size)
        self.messages = MessageFactory(
            settings, edition.week, edition.id, editions.rendered(edition), tokens
        )

    # ---- the whole run -----------------------------------------------------------------

    def execute(self, resend_in_doubt: bool) -> None:
        with db.transaction(self.factory) as session:
            if resend_in_doubt:
                n = ledger.resend_in_doubt(session, self.edition_id)
                log.warning(
                    "edition %s: %d in-doubt deliveries put back to be sent again", self.week, n
                )
            self.progress("total", ledger.counts(session, self.edition_id)["pending"])
        self._settle_stale()
        threads = [
            threading.Thread(target=self._worker, name=f"sender-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _worker(self) -> None:
        try:
            while not self.shared.stop.is_set():
                worker = ledger.worker_id(next(self.shared.batch_numbers))
                with db.transaction(self.factory) as session:
                    claimed, skipped = ledger.claim_batch(
                        session, self.edition_id, worker, self.batch_size, utcnow() + self.lease
                    )
                if skipped:
                    self.progress("skipped", skipped)
                if not claimed:
                    if skipped:
                        continue  # the whole batch was skipped; there may be more
                    with db.transaction(self.factory) as session:
                        if ledger.counts(session, self.edition_id)["pending"] == 0:
                            return
                    self.shared.stop.wait(0.05)  # rows locked by another sender: look again
                    continue
                self._send(claimed, worker)
        except BaseException as exc:  # any failure stops every thread
            self.shared.fail(exc)

    # ---- one batch -----------------------------------------------------------------------

    def _send(self, claimed: Sequence[ledger.Claimed], worker: str) -> None:
        messages = [
            self.messages.build(c.delivery_id, c.subscriber_id, c.email, c.name) for c in claimed
        ]
        ids = [m.delivery_id for m in messages]
        if not self.bucket.acquire(len(messages), self.shared.stop):
            self._write(ledger.release, ids, "stopped before sending")
            return
        try:
            results = self._with_retries(messages, claimed[0].batch_key, worker)
        except ProviderError as exc:
            if exc.uncertain and not self.provider.idempotent:
                self._write(ledger.mark_in_doubt, ids, f"in doubt: {exc}")
                self.progress("in_doubt", len(ids))
                if not exc.permanent:
                    return  # this batch is reported; the others carry on
            else:
                self._write(ledger.release, ids, str(exc))
            self.shared.fail(exc)
            return
        self._write(ledger.record, results, via=f"send:{self.provider.name}")
        sent = sum(1 for r in results if r.ok)
        with self.shared.lock:
            self.shared.sent += sent
        self.progress("sent", sent)
        if len(results) - sent:
            self.progress("failed", len(results) - sent)

    def _with_retries(
        self, messages: Sequence[Message], batch_key: str, worker: str
    ) -> list[SendResult]:
        ids = [m.delivery_id for m in messages]
        for attempt in range(1, self.max_attempts + 1):
            try:
                results = self.provider.send_batch(messages, batch_key)
            except ProviderError as exc:
                if exc.permanent or attempt == self.max_attempts:
                    raise
                if exc.uncertain and not self.provider.idempotent:
                    raise  # a retry could send it twice
                delay = self._backoff(attempt, exc.retry_after)
                log.warning(
                    "%s (attempt %d of %d); retrying in %.1f s",
                    exc,
                    attempt,
                    self.max_attempts,
                    delay,
                )
                lease_until = utcnow() + self.lease + timedelta(seconds=delay)
                self._write(ledger.renew, ids, worker, lease_until)
                self.sleep(delay)
                if self.shared.stop.is_set():
                    raise ProviderError("stopped while waiting to retry", permanent=False) from exc
                continue
            if len(results) != len(messages):
                raise ProviderError(
                    f"{self.provider.name}: {len(results)} results for {len(messages)} messages",
                    permanent=True,
                    uncertain=True,
                )
            return results
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter under a capped exponential; the provider's Retry-After wins when given."""
        if retry_after is not None:
            return max(retry_after, 0.0)
        return random.uniform(0, min(self.retry_cap, 0.5 * 2**attempt))

    def _write(self, change: Callable[..., object], *args: object, **kwargs: object) -> None:
        """Run one ledger change in its own committed transaction."""
        with db.transaction(self.factory) as session:
            change(session, *args, **kwargs)

    # ---- batches an interrupted sender left behind -------------------------------------------

    def _settle_stale(self) -> None:
        with db.transaction(self.factory) as session:
            stale = ledger.stale_claims(session, self.edition_id, utcnow())
        for key, group in groupby(stale, key=lambda c: c.batch_key):
            rows = list(group)
            ids = [c.delivery_id for c in rows]
            messages = [
                self.messages.build(c.delivery_id, c.subscriber_id, c.email, c.name) for c in rows
            ]
            if isinstance(self.provider, Settles):
                self._settle_by_asking(messages)
            elif self.provider.idempotent:
                worker = ledger.worker_id(next(self.shared.batch_numbers))
                self._write(ledger.take_over, ids, worker, utcnow() + self.lease)
                log.warning(
                    "edition %s: resending interrupted batch %s under its own key", self.week, key
                )
                self._send(rows, worker)
            else:
                reason = "in doubt: its sender stopped mid-batch; the provider can't say if it went"
                self._write(ledger.mark_in_doubt, ids, reason)
                log.warning(
                    "edition %s: %d deliveries of an interrupted batch are in doubt",
                    self.week,
                    len(ids),
                )

    def _settle_by_asking(self, messages: Sequence[Message]) -> None:
        assert isinstance(self.provider, Settles)
        answers = self.provider.was_sent(messages)
        went = [
            SendResult(m.delivery_id, provider_message_id="(found after restart)")
            for m, a in zip(messages, answers, strict=True)
            if a
        ]
        back = [m.delivery_id for m, a in zip(messages, answers, strict=True) if a is False]
        unknown = [m.delivery_id for m, a in zip(messages, answers, strict=True) if a is None]
        with db.transaction(self.factory) as session:
            ledger.record(session, went, via=f"send:{self.provider.name}")
            ledger.release(session, back, "interrupted before sending")
            ledger.mark_in_doubt(
                session, unknown, "in doubt: the provider could not say if it went out"
            )
        log.info(
            "settled an interrupted batch: %d had gone out, %d had not, %d unknown",
            len(went),
            len(back),
            len(unknown),
        )
