"""The sending engine: this week's edition, batch by batch, exactly once per subscriber.

``send_week`` opens (or continues) the week's edition and registers a run with a heartbeat.
Then ``concurrency`` threads each claim a batch under a new key (committed), build its
messages, send them through the provider, and let ``fate.decide`` say what becomes of the
batch after each attempt: record, retry under the same key (capped exponential backoff with
full jitter, Retry-After honoured), release, in doubt, or hold. While sending, any thread
also looks for batches whose run stopped heartbeating (a crash, a kill, another host gone)
and takes them over under the fate rules, so no claim is left behind.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from newsletter import db, editions, fate, ledger, memory, runners
from newsletter.config import Settings
from newsletter.errors import DatabaseError, InputError, NewsletterError, ProviderError
from newsletter.ledger import Batch, EditionLedger, Holding
from newsletter.messages import MessageFactory
from newsletter.models import Edition, Tip, utcnow
from newsletter.providers.base import Message, MessageError, Provider, SendResult
from newsletter.providers.registry import make_provider
from newsletter.ratelimit import SharedBucket
from newsletter.suppression import SuppressionList
from newsletter.tokens import Tokens
from newsletter.weeks import IsoWeek

log = logging.getLogger("newsletter.sending")

Progress = Callable[[str, int], None]
"""Called with ("total", n) once, then ("sent" | "failed" | "skipped" | "in_doubt", n)."""

# An idempotency key is trusted only this long before the provider forgets it.
KEY_MARGIN = timedelta(hours=1)


@dataclass
class EditionReport:
    """What a send did, and where the edition stands."""

    week: str
    tip_title: str
    recipients: int
    counts: dict[str, int]  # empty when the database could not be read at the end
    created: bool
    sent_now: int = 0
    seconds: float = 0.0
    stopped: str | None = None  # why the send stopped before the edition was finished
    holders: list[Holding] = field(default_factory=list)  # who still holds claims

    @property
    def finished(self) -> bool:
        """Every delivery settled: none pending, none claimed."""
        return bool(self.counts) and self.counts["pending"] == 0 and self.counts["claimed"] == 0

    @property
    def troubled(self) -> bool:
        """Failed or in-doubt rows: the CLI exits 3."""
        return bool(self.counts.get("failed") or self.counts.get("in_doubt"))


@dataclass
class _Shared:
    """What the threads of one send share."""

    stop: threading.Event
    abort: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sweeping: threading.Lock = field(default_factory=threading.Lock)
    last_sweep: float = 0.0
    sent: int = 0
    # Rows held by other live runs at the end, and since when that number has not moved.
    held: int = -1
    held_since: float = 0.0

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
    wait_for_edition: float = 0.0,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    sleep: Callable[[float], None] | None = None,
) -> EditionReport:
    """Send (or continue) the edition of ``week``; see the module docstring.

    Errors before the edition exists (config, an empty queue, the database) are raised. Once
    it exists, whatever stops the send is reported in ``EditionReport.stopped`` instead.
    """
    tokens = Tokens(settings.require_secret_key())
    factory = db.session_factory(engine)
    if join_only:
        if engine.url.get_backend_name() != "postgresql":
            raise InputError(
                "--worker needs PostgreSQL ([database] url = postgresql+psycopg://…): "
                "SQLite takes one writer at a time, so workers would only wait on each other"
            )
        _await_edition(factory, week, wait_for_edition, stop)
    edition, created = editions.open_edition(factory, settings, week, tip_ref=tip_ref)
    with memory.frozen():  # what exists now lives as long as the send
        owned = provider is None
        provider = provider or make_provider(settings)
        started = time.monotonic()
        shared = _Shared(threading.Event())  # our own: a failure here must not stop the caller
        grace = float(settings.provider.lease_seconds)
        run_id: str | None = None
        try:
            with db.transaction(factory) as session:
                run_id = runners.start(session, "send", edition_id=edition.id)
            book = EditionLedger(
                factory, edition.id, edition.week, run_id, SuppressionList.from_settings(settings)
            )
            lost = DatabaseError("this sender could not write its heartbeat: stopped its sends")
            with (
                runners.Heartbeat(factory, run_id, grace / 5, grace / 2, lambda: shared.fail(lost)),
                _relay(stop, shared.stop),
            ):
                run = _Run(settings, provider, edition, tokens, shared, progress, sleep, book)
                run.execute(resend_in_doubt)
        except BaseException as exc:  # the database failed under us: report, never raise
            shared.fail(exc)
        finally:
            if run_id is not None:
                _end_run(factory, run_id)
            if owned:
                provider.close()
        report = _report(factory, edition, created, shared, time.monotonic() - started, grace)
    _log_outcome(report, shared)
    return report


@contextmanager
def _relay(outside: threading.Event | None, inside: threading.Event) -> Iterator[None]:
    """While the send runs, the caller's stop (a signal) stops it too; never the reverse."""
    done = threading.Event()

    def watch() -> None:
        while outside is not None and not done.wait(0.1):
            if outside.is_set():
                inside.set()
                return

    watcher = threading.Thread(target=watch, name="stop-relay", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def _await_edition(
    factory: sessionmaker[Session], week: IsoWeek, seconds: float, stop: threading.Event | None
) -> None:
    """A worker joins an edition someone else starts: wait up to ``seconds`` for it."""
    deadline = time.monotonic() + seconds
    while True:
        with db.transaction(factory) as session:
            if editions.find(session, week) is not None:
                return
        if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
            waited = f" (waited {seconds:g} s)" if seconds else ""
            raise InputError(
                f"no edition for {week} is being sent{waited}: start one with `newsletter send` "
                "or `newsletter run`"
            )
        (stop or threading.Event()).wait(min(2.0, max(deadline - time.monotonic(), 0.0)))


def _end_run(factory: sessionmaker[Session], run_id: str) -> None:
    """Say the run is over, so that what it holds is taken over at once; if the database
    cannot hear it, the run's heartbeat goes stale and the same happens a little later."""
    try:
        with db.transaction(factory) as session:
            runners.end(session, run_id)
    except NewsletterError as exc:
        log.warning("could not record the end of run %s: %s", run_id[:8], exc)


def _report(
    factory: sessionmaker[Session],
    edition: Edition,
    created: bool,
    shared: _Shared,
    seconds: float,
    grace: float,
) -> EditionReport:
    stopped = _why(shared.abort[0]) if shared.abort else None
    counts: dict[str, int] = {}
    holders: list[Holding] = []
    title = "?"
    try:
        with db.transaction(factory) as session:
            current = session.get(Edition, edition.id)
            assert current is not None
            counts = editions.finish(session, current, error=stopped)
            tip = session.get(Tip, current.tip_id)
            title = tip.title if tip else "?"
            holders = ledger.holdings(session, edition.id, timedelta(seconds=grace))
    except NewsletterError as exc:
        stopped = stopped or str(exc)
    return EditionReport(
        week=edition.week,
        tip_title=title,
        recipients=edition.recipients,
        counts=counts,
        created=created,
        sent_now=shared.sent,
        seconds=seconds,
        stopped=stopped,
        holders=holders,
    )


def _why(exc: BaseException) -> str:
    if isinstance(exc, NewsletterError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    log.debug("".join(traceback.format_exception(exc)))
    return f"unexpected error: {type(exc).__name__}: {db.reason(exc)[:300]}"


def _log_outcome(report: EditionReport, shared: _Shared) -> None:
    counts = ", ".join(f"{n} {s}" for s, n in report.counts.items() if n) or "counts unknown"
    log.info(
        "edition %s: %d sent now; %s; %.1f s", report.week, shared.sent, counts, report.seconds
    )
    if report.stopped:
        log.error("edition %s stopped: %s", report.week, report.stopped)


class _Run:
    """One send of one edition by this process."""

    def __init__(
        self,
        settings: Settings,
        provider: Provider,
        edition: Edition,
        tokens: Tokens,
        shared: _Shared,
        progress: Progress | None,
        sleep: Callable[[float], None] | None,
        book: EditionLedger,
    ) -> None:
        p = settings.provider
        self.provider = provider
        self.book = book
        self.week = edition.week
        self.shared = shared
        self.progress = progress or (lambda kind, n: None)
        self.sleep = sleep or (lambda seconds: shared.stop.wait(seconds) and None)
        self.batch_size = min(provider.max_batch, p.batch_size or provider.max_batch)
        self.grace = timedelta(seconds=p.lease_seconds)
        self.max_attempts = p.max_attempts
        self.retry_cap = p.retry_cap_seconds
        self.concurrency = p.concurrency
        self.bucket = SharedBucket(
            book.engine,
            provider.name,
            p.rate_limit or provider.default_rate,
            burst=self.batch_size,
        )
        self.messages = MessageFactory(
            settings, edition.week, edition.id, editions.rendered(edition), tokens
        )
        self.via = f"send:{provider.name}"
        # Message by message, each on record before the next: a failure concerns one message.
        self.one_by_one = provider.sequential and not provider.idempotent

    # ---- the whole run -----------------------------------------------------------------

    def execute(self, resend_in_doubt: bool) -> None:
        with db.transaction(self.book.factory) as session:
            if resend_in_doubt:
                n = ledger.resend_in_doubt(session, self.book.edition_id)
                log.warning(
                    "edition %s: %d in-doubt deliveries put back to be sent again", self.week, n
                )
            counts = ledger.counts(session, self.book.edition_id)
        self.progress("total", counts["pending"] + counts["claimed"])
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
                if self._sweep_due() and self._sweep():
                    continue
                batch, skipped = self.book.claim(self.batch_size)
                if skipped:
                    self.progress("skipped", skipped)
                if batch is not None:
                    self._deliver(batch)
                elif not skipped and not self._sweep() and not self._others_may_finish():
                    return
        except BaseException as exc:  # any failure stops every thread
            self.shared.fail(exc)

    # ---- batches left by runs that stopped -------------------------------------------------

    def _sweep_due(self) -> bool:
        return time.monotonic() - self.shared.last_sweep > self.grace.total_seconds() / 5

    def _sweep(self) -> bool:
        """Take over the batches of runs that stopped heartbeating; True if any was taken."""
        if not self.shared.sweeping.acquire(blocking=False):
            return False
        try:
            self.shared.last_sweep = time.monotonic()
            took = False
            for key, holder in self.book.stale(self.grace):
                batch = self.book.take_over(key, holder)
                if batch is None or self.shared.stop.is_set():
                    continue
                log.warning(
                    "edition %s: taking over batch %s (%d deliveries) from a sender that stopped",
                    self.week,
                    key,
                    len(batch.rows),
                )
                self._deliver(batch)
                took = True
            return took
        finally:
            self.shared.sweeping.release()

    def _others_may_finish(self) -> bool:
        """Nothing to claim: wait while rows are locked or held by runs that may still finish
        them (or go stale and be taken over); False when waiting cannot help."""
        if self.book.any_pending():
            self.shared.stop.wait(0.05)  # rows locked by another sender's claim: look again
            return True
        others = [h for h in self.book.holdings(self.grace) if h.run_id != self.book.run_id]
        if not others:
            return False
        held = sum(h.rows for h in others)
        with self.shared.lock:
            if self.shared.held != held:
                self.shared.held, self.shared.held_since = held, time.monotonic()
            waited = time.monotonic() - self.shared.held_since
        if waited > self.grace.total_seconds() * 1.5:
            return False  # live runs hold them and are not letting go: report who
        self.shared.stop.wait(0.25)
        return True

    # ---- one batch -----------------------------------------------------------------------

    def _deliver(self, batch: Batch) -> None:
        """Send one batch until ``fate`` says what becomes of it."""
        ambiguous = batch.taken_over
        if batch.taken_over:
            held = fate.holder_stopped("in doubt: its sender stopped mid-batch")
            if self.one_by_one:
                # Its sender went message by message: only the first message it had not
                # reported can have been on its way; the others certainly never left.
                batch = self._settle_first(batch, held)
                ambiguous = False
            else:
                decision = self._decide(held, batch, ambiguous, may_retry=True)
                if decision.final:
                    self._apply(decision, batch, [], held)
                    return
        error: ProviderError | None = None
        attempt = 0
        while batch.rows:
            if attempt or batch.taken_over:
                batch, skipped = self.book.recheck(batch)
                if skipped:
                    self.progress("skipped", skipped)
            batch, messages = self._build(batch)
            if not messages:
                return
            if not self.bucket.acquire(len(messages), self.shared.stop):
                stopped = error or ProviderError("stopped before sending", permanent=False)
                self._apply(self._decide(stopped, batch, ambiguous, False), batch, [], stopped)
                return
            attempt += 1
            results, error, reported = self._attempt(batch, messages)
            if reported:
                done = {r.delivery_id for r in reported}
                batch = batch.without(done)
                results = [r for r in results if r.delivery_id not in done]
            if error is not None and self.one_by_one and batch.rows:
                if error.ambiguous:
                    batch = self._settle_first(batch, error)
                error = fate.certain(error)  # the rest of the batch never left
                if not batch.rows:
                    return
            may_retry = attempt < self.max_attempts and not self.shared.stop.is_set()
            decision = self._decide(error, batch, ambiguous, may_retry)
            ambiguous = ambiguous or (error is not None and error.ambiguous)
            if decision.fate is not fate.Fate.RETRY:
                self._apply(decision, batch, results, error)
                return
            assert error is not None
            delay = self._backoff(attempt, error.retry_after)
            log.warning(
                "%s (attempt %d of %d); retrying batch %s in %.1f s",
                error,
                attempt,
                self.max_attempts,
                batch.key,
                delay,
            )
            self.sleep(delay)
            if self.shared.stop.is_set():
                self._apply(self._decide(error, batch, ambiguous, False), batch, [], error)
                return

    def _settle_first(self, batch: Batch, error: ProviderError) -> Batch:
        """Decide the first message of a batch alone (it may have been on its way when the
        sender stopped or the connection was lost); the rest of the batch is returned."""
        first, rest = batch.split_first()
        self._apply(self._decide(error, first, True, may_retry=False), first, [], error)
        return rest

    def _decide(
        self, error: ProviderError | None, batch: Batch, ambiguous: bool, may_retry: bool
    ) -> fate.Decision:
        return fate.decide(
            error, ambiguous_before=ambiguous, dedupes=self._dedupes(batch), may_retry=may_retry
        )

    def _dedupes(self, batch: Batch) -> bool:
        """Does the provider still remember this batch's key?"""
        memory = self.provider.key_memory
        if not self.provider.idempotent:
            return False
        if memory is None:
            return True
        return batch.minted_at is not None and utcnow() - batch.minted_at < memory - KEY_MARGIN

    def _build(self, batch: Batch) -> tuple[Batch, list[Message]]:
        """Each recipient's message; one that cannot be built fails alone, at once."""
        messages, broken = [], []
        for c in batch.rows:
            try:
                messages.append(
                    self.messages.build(c.delivery_id, c.subscriber_id, c.email, c.name)
                )
            except MessageError as exc:
                broken.append(SendResult(c.delivery_id, error=str(exc), permanent=True))
        if broken:
            self.book.record(batch, broken, via=self.via)
            self.progress("failed", len(broken))
            batch = batch.without({r.delivery_id for r in broken})
        return batch, messages

    def _attempt(
        self, batch: Batch, messages: Sequence[Message]
    ) -> tuple[list[SendResult], ProviderError | None, list[SendResult]]:
        """One call: its results, or what went wrong (an unexpected exception is ambiguous),
        and the results already on record (a sequential provider reports as it goes)."""
        reported: list[SendResult] = []

        def report(result: SendResult) -> None:
            self.book.record(batch, [result], via=self.via)
            reported.append(result)
            self.progress("sent" if result.ok else "failed", 1)
            if result.ok:
                with self.shared.lock:
                    self.shared.sent += 1

        record = report if self.one_by_one else None
        try:
            results = self.provider.send_batch(messages, batch.key, record)
        except ProviderError as exc:
            return [], exc, reported
        except Exception as exc:  # a bug or a nonsense answer after the call may have gone
            log.debug("".join(traceback.format_exception(exc)))
            return (
                [],
                ProviderError(
                    f"{self.provider.name}: unexpected error ({type(exc).__name__}: {exc})",
                    permanent=True,
                    ambiguous=True,
                ),
                reported,
            )
        if len(results) != len(messages):
            return (
                [],
                ProviderError(
                    f"{self.provider.name}: {len(results)} results for {len(messages)} messages",
                    permanent=True,
                    ambiguous=True,
                ),
                reported,
            )
        return results, None, reported

    def _apply(
        self,
        decision: fate.Decision,
        batch: Batch,
        results: Sequence[SendResult],
        error: ProviderError | None,
    ) -> None:
        what = fate.Fate
        if decision.fate is what.RECORD:
            self.book.record(batch, results, via=self.via)
            sent = sum(1 for r in results if r.ok)
            with self.shared.lock:
                self.shared.sent += sent
            self.progress("sent", sent)
            if len(results) - sent:
                self.progress("failed", len(results) - sent)
        elif decision.fate is what.RELEASE:
            self.book.release(batch, str(error))
        elif decision.fate is what.IN_DOUBT:
            self.book.in_doubt(batch, f"in doubt: {error}")
            self.progress("in_doubt", len(batch.rows))
            log.warning(
                "edition %s: %d deliveries of batch %s are in doubt: %s",
                self.week,
                len(batch.rows),
                batch.key,
                error,
            )
        elif decision.fate is what.HOLD:
            self.book.hold(batch, f"held for a resend under its own key: {error}")
            log.warning(
                "edition %s: batch %s is held, to be resent under its own key: %s",
                self.week,
                batch.key,
                error,
            )
        if decision.stop and error is not None:
            self.shared.fail(error)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter under a capped exponential; the provider's Retry-After wins when given."""
        if retry_after is not None:
            return max(retry_after, 0.0)
        return random.uniform(0, min(self.retry_cap, 0.5 * 2**attempt))
