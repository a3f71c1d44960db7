"""What the routes share: settings, database sessions, tokens, pages, the signup limiter."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from newsletter import db
from newsletter.config import Settings
from newsletter.tokens import Tokens
from newsletter.web.pages import Pages


class RateLimit:
    """At most ``limit`` events per ``window`` seconds per key (in this process)."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            recent = self._seen.setdefault(key, deque())
            while recent and recent[0] <= now - self.window:
                recent.popleft()
            if len(recent) >= self.limit:
                return False
            recent.append(now)
            return True


@dataclass
class WebContext:
    settings: Settings
    engine: Engine
    tokens: Tokens
    pages: Pages
    signups: RateLimit = field(default_factory=lambda: RateLimit(5, 600))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction."""
        with db.transaction(db.session_factory(self.engine)) as session:
            yield session
