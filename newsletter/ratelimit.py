"""A token bucket shared by the sending threads: at most ``rate`` messages per second."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``acquire(n)`` blocks until ``n`` messages may go; ``rate <= 0`` means no limit."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        # A whole batch must fit in the bucket, or acquire() could never succeed.
        self.capacity = max(burst, 1.0)
        self._tokens = self.capacity
        self._clock = clock
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self, n: int, stop: threading.Event | None = None) -> bool:
        """Wait for ``n`` tokens; False if ``stop`` was set while waiting."""
        if self.rate <= 0:
            return True
        need = min(float(n), self.capacity)
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= need:
                    self._tokens -= need
                    return True
                wait = (need - self._tokens) / self.rate
            if stop is not None:
                if stop.wait(wait):
                    return False
            else:
                time.sleep(wait)
