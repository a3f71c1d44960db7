"""One rate limit for every sender, kept in the database.

``[provider] rate_limit`` is the provider's limit for the account, not for one process: three
workers on one PostgreSQL (or a runner and a `newsletter send` on one SQLite file) share it.

It is a schedule rather than a pile of tokens (the "generic cell rate algorithm"): one row per
provider holds the moment its next message may go. A sender about to send a batch of ``n``
reserves its slot in one short transaction that locks the row (``SELECT … FOR UPDATE`` on
PostgreSQL, SQLite's write lock): its batch may go at ``max(next_at, now - burst)``, and
``next_at`` moves ``n / rate`` seconds past that. Then it waits for its moment outside any
transaction and sends. Reserving ahead means a sender that wakes late never wastes the
capacity meant for it (a token bucket loses tokens to every late wake-up, about a tenth of
the rate with busy databases and small batches); the credit of an idle bucket is at most one
batch, so over any minute the rate stays within one batch of the limit. The database's clock
decides on PostgreSQL (several hosts, one clock).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from newsletter import db, runners
from newsletter.models import RateBucket, utcnow


class SharedBucket:
    """``acquire(n)`` waits until ``n`` messages may go; ``rate <= 0`` means no limit."""

    def __init__(
        self,
        engine: Engine,
        name: str,
        rate: float,
        burst: float,
        sleep: Callable[[float, threading.Event | None], bool] | None = None,
    ) -> None:
        self.engine = engine
        self.name = name
        self.rate = rate
        self.burst = max(burst, 1.0)  # the most an idle limit lets go at once: one batch
        self._factory = db.session_factory(engine)
        self._sleep = sleep or _wait

    def acquire(self, n: int, stop: threading.Event | None = None) -> bool:
        """Wait for the moment ``n`` messages may go; False if ``stop`` was set meanwhile."""
        if self.rate <= 0:
            return True
        wait = self._reserve(n)
        return wait <= 0 or self._sleep(wait, stop)

    def _reserve(self, n: int) -> float:
        """Book the next ``n`` messages' slot; the seconds until it comes."""
        with db.serialized(self.engine), db.transaction(self._factory) as session:
            self._ensure(session)
            next_at = session.execute(
                select(RateBucket.next_at).where(RateBucket.name == self.name).with_for_update()
            ).scalar_one()
            now = runners.clock(session)
            start = max(next_at, now - timedelta(seconds=self.burst / self.rate))
            session.execute(
                update(RateBucket)
                .where(RateBucket.name == self.name)
                .values(next_at=start + timedelta(seconds=n / self.rate))
            )
        return (start - now).total_seconds()

    def _ensure(self, session: Session) -> None:
        """The limit's row exists (no credit at first), whoever creates it first. Being a
        write, it also takes SQLite's write lock first, so the read that follows is
        serialized too."""
        if session.get_bind().dialect.name == "postgresql":  # the database's clock, in place
            pg = pg_insert(RateBucket).values(name=self.name, next_at=func.now())
            session.execute(pg.on_conflict_do_nothing())
        else:
            lite = sqlite_insert(RateBucket).values(name=self.name, next_at=utcnow())
            session.execute(lite.on_conflict_do_nothing())


def _wait(seconds: float, stop: threading.Event | None) -> bool:
    """Sleep; False when ``stop`` was set meanwhile."""
    if stop is None:
        time.sleep(seconds)
        return True
    return not stop.wait(seconds)
