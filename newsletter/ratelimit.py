"""One rate limit for every sender: a token bucket kept in the database.

``[provider] rate_limit`` is the provider's limit for the account, not for one process: three
workers on one PostgreSQL (or a runner and a `newsletter send` on one SQLite file) share it.
The bucket is one row per provider (``rate_buckets``); taking tokens is a short transaction
that locks that row (``SELECT … FOR UPDATE`` on PostgreSQL, SQLite's write lock), refills it
for the time passed by the database's clock, and takes what it can. A sender takes a whole
batch's worth before the batch goes out, and waits (outside any transaction) for the tokens
it lacks. The bucket starts empty and holds at most one batch of tokens, so over any minute
the rate stays within one batch of the limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from newsletter import db, runners
from newsletter.models import RateBucket


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
        # A whole batch must fit in the bucket, or acquire() could never succeed; no more, so
        # that a bucket left to fill while senders start never lets a burst through.
        self.capacity = max(burst, 1.0)
        self._factory = db.session_factory(engine)
        self._sleep = sleep or _wait

    def acquire(self, n: int, stop: threading.Event | None = None) -> bool:
        """Wait for ``n`` tokens; False if ``stop`` was set while waiting."""
        if self.rate <= 0:
            return True
        need = min(float(n), self.capacity)
        while True:
            wait = self._take(need)
            if wait <= 0:
                return True
            if not self._sleep(wait, stop):
                return False

    def _take(self, need: float) -> float:
        """Take ``need`` tokens if there are enough: 0; else the seconds until there will be."""
        with db.transaction(self._factory) as session:
            self._ensure(session)
            row = session.execute(
                select(RateBucket.tokens, RateBucket.updated_at)
                .where(RateBucket.name == self.name)
                .with_for_update()
            ).one()
            now = runners.clock(session)
            elapsed = max((now - row.updated_at).total_seconds(), 0.0)
            tokens = min(self.capacity, row.tokens + elapsed * self.rate)
            if tokens >= need:
                tokens -= need
                wait = 0.0
            else:
                wait = (need - tokens) / self.rate
            session.execute(
                update(RateBucket)
                .where(RateBucket.name == self.name)
                .values(tokens=tokens, updated_at=now)
            )
        return wait

    def _ensure(self, session: Session) -> None:
        """The bucket's row exists (empty at first), whoever creates it first. Being a write,
        it also takes SQLite's write lock first, so the read that follows is serialized too."""
        values = {"name": self.name, "tokens": 0.0, "updated_at": runners.clock(session)}
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(insert(RateBucket).values(**values).on_conflict_do_nothing())


def _wait(seconds: float, stop: threading.Event | None) -> bool:
    """Sleep; False when ``stop`` was set meanwhile."""
    if stop is None:
        time.sleep(seconds)
        return True
    return not stop.wait(seconds)
