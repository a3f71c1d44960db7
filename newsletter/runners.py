"""Runs and their heartbeats: who is alive, by run and never by PID.

Every sender (one ``send_week``: ``newsletter send``, the weekly job, a worker) and every
scheduler process registers a run: a random id, with the host and PID for people to read.
A run is alive while it writes its heartbeat and has not ended. A restarted container is
PID 1 again, and another host's PIDs mean nothing here, so a PID never decides anything.

Heartbeat times come from the database's clock on PostgreSQL (several hosts, one clock) and
from this host's on SQLite (one host).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from newsletter import db
from newsletter.models import Runner, utcnow

log = logging.getLogger("newsletter.runners")

SCHEDULER_BEAT = timedelta(seconds=30)
HOST = socket.gethostname()


def clock(session: Session) -> datetime:
    """Now, by the database's clock where several hosts may share it."""
    if session.get_bind().dialect.name == "postgresql":
        now: datetime | None = session.scalar(select(func.now()))
        assert now is not None
        return now
    return utcnow()


def start(
    session: Session, kind: str, *, edition_id: int | None = None, next_run: datetime | None = None
) -> str:
    """Register a run of this process; returns its id."""
    now = clock(session)
    run_id = uuid.uuid4().hex
    session.add(
        Runner(
            id=run_id,
            kind=kind,
            host=HOST,
            pid=os.getpid(),
            edition_id=edition_id,
            started_at=now,
            heartbeat_at=now,
            next_run_at=next_run,
        )
    )
    return run_id


def beat(session: Session, run_id: str, *, next_run: datetime | None = None) -> bool:
    """Write the heartbeat; False when the run is unknown or already ended."""
    values: dict[str, object] = {"heartbeat_at": clock(session)}
    if next_run is not None:
        values["next_run_at"] = next_run
    result = session.execute(
        update(Runner).where(Runner.id == run_id, Runner.ended_at.is_(None)).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end(session: Session, run_id: str) -> None:
    """The run is over: its claims, if any are left, may be taken over at once."""
    session.execute(
        update(Runner)
        .where(Runner.id == run_id, Runner.ended_at.is_(None))
        .values(ended_at=clock(session))
    )


def alive(session: Session, kind: str, grace: timedelta) -> list[Runner]:
    """Runs of ``kind`` that beat within ``grace`` and have not ended."""
    cutoff = clock(session) - grace
    return list(
        session.scalars(
            select(Runner)
            .where(Runner.kind == kind, Runner.ended_at.is_(None), Runner.heartbeat_at >= cutoff)
            .order_by(Runner.started_at)
        )
    )


def last_seen(session: Session, kind: str) -> Runner | None:
    """The run of ``kind`` that beat most recently, alive or not."""
    return session.scalars(
        select(Runner).where(Runner.kind == kind).order_by(Runner.heartbeat_at.desc()).limit(1)
    ).first()


def describe(runner: Runner | None) -> str:
    """``run 3f2a…  on host (pid 1)`` for messages."""
    if runner is None:
        return "a run that no longer exists"
    return f"run {runner.id[:8]} on {runner.host} (pid {runner.pid})"


class Heartbeat:
    """Beats for one run every ``interval`` in a thread of its own until stopped.

    If no beat succeeds for ``fence`` (the database is gone or locked), ``on_lost`` is called
    once: the run must stop claiming, because others will soon take its claims over.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        run_id: str,
        interval: float,
        fence: float,
        on_lost: Callable[[], None],
        *,
        next_run: Callable[[], datetime | None] = lambda: None,
    ) -> None:
        self._factory = factory
        self._run_id = run_id
        self._interval = interval
        self._fence = fence
        self._on_lost = on_lost
        self._next_run = next_run
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _loop(self) -> None:
        last_ok = time.monotonic()
        lost = False
        while not self._done.wait(self._interval):
            try:
                engine = self._factory.kw["bind"]
                with db.serialized(engine), db.transaction(self._factory) as session:
                    known = beat(session, self._run_id, next_run=self._next_run())
            except Exception as exc:  # the database is down or locked: say so, keep trying
                log.warning("heartbeat of run %s not written: %s", self._run_id[:8], db.reason(exc))
                known = False
            if known:
                last_ok = time.monotonic()
            elif not lost and time.monotonic() - last_ok > self._fence:
                lost = True
                log.error(
                    "run %s could not write its heartbeat for %.0f s: stopping its sends",
                    self._run_id[:8],
                    self._fence,
                )
                self._on_lost()
