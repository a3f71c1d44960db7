"""Heartbeats of ``newsletter run`` processes, so ``newsletter status`` can say one is alive."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.models import Runner, utcnow

HEARTBEAT = timedelta(seconds=60)


def runner_id() -> str:
    """This process: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(session: Session, next_run: datetime | None, now: datetime | None = None) -> None:
    """Record that this runner is alive, and when it will send next."""
    now = now or utcnow()
    row = session.get(Runner, runner_id())
    if row is None:
        row = Runner(id=runner_id(), started_at=now)
        session.add(row)
    row.heartbeat_at, row.next_run_at = now, next_run


def leave(session: Session) -> None:
    """This runner stops."""
    session.execute(delete(Runner).where(Runner.id == runner_id()))


def alive(session: Session, now: datetime | None = None) -> list[Runner]:
    """Runners that beat within two heartbeats."""
    cutoff = (now or utcnow()) - 2 * HEARTBEAT
    return list(
        session.scalars(select(Runner).where(Runner.heartbeat_at >= cutoff).order_by(Runner.id))
    )
