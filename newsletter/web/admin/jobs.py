"""Sends started from the dashboard ("resend in doubt"), in threads of the web process.

A send is the same ``sending.send_week`` that ``newsletter send --resend-in-doubt`` runs, with
its own run and heartbeat; the page of the edition shows its progress from the database.
When the web process shuts down, the sends finish the batches in flight, record them and stop
(the next send continues the edition).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from newsletter import sending, weekly
from newsletter.config import Settings
from newsletter.weeks import IsoWeek

log = logging.getLogger("newsletter.web.admin")


class Jobs:
    """The dashboard's sends in this process."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        """Sends over ``engine`` with ``settings``; none running yet."""
        self.settings, self.engine = settings, engine
        self.stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def running(self, week: str) -> bool:
        """A send of ``week`` started here is still going."""
        with self._lock:
            thread = self._threads.get(week)
            return thread is not None and thread.is_alive()

    def resend_in_doubt(self, week: IsoWeek, who: str) -> bool:
        """Start resending the week's in-doubt deliveries; False if a send of it started here
        is still running."""
        with self._lock:
            current = self._threads.get(str(week))
            if current is not None and current.is_alive():
                return False
            thread = threading.Thread(
                target=self._send, args=(week, who), name=f"resend-{week}", daemon=True
            )
            self._threads[str(week)] = thread
            thread.start()
            return True

    def _send(self, week: IsoWeek, who: str) -> None:
        log.warning("%s asked to resend the in-doubt deliveries of %s", who, week)
        try:
            report = sending.send_week(
                self.settings, week, engine=self.engine, resend_in_doubt=True, stop=self.stop
            )
        except Exception as exc:  # the thread's boundary: nobody watches it, so a person is told
            weekly.could_not_send(self.settings, self.engine, week, exc, what="the resend of")
            return
        if not self.stop.is_set():
            weekly.tell_outcome(self.settings, self.engine, report, by_runner=False)

    def close(self, timeout: float = 120.0) -> None:
        """Stop the sends (after their batches in flight) and wait for them."""
        self.stop.set()
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout)
