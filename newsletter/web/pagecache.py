"""Public pages kept in memory until the archive changes, with ETags for conditional GETs.

The archive's pages (listings, categories, tips, the feed, searches) depend only on the tips
table, so a rendered page stays good until ``archive.version`` changes. Each web process asks
for that version at most once a ``check_seconds`` (a cheap aggregate query) and drops every
page when it moved: a change made by any process (a send, an import, an edit) shows within
that second. Only 200 answers are kept, at most ``max_bytes`` of them (least recently used go
first), so odd query strings cannot grow the cache without bound.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

CHECK_SECONDS = 1.0
MAX_BYTES = 32 * 1024 * 1024
_VARYING = (b"content-length", b"etag")


@dataclass(frozen=True)
class Page:
    """One answer as it was rendered: sent again as it is, or as a 304 when the client has it."""

    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    etag: str

    @classmethod
    def of(cls, response: Response) -> Page:
        body = bytes(response.body)
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        kept = tuple((k, v) for k, v in response.raw_headers if k not in _VARYING)
        return cls(response.status_code, body, kept, etag)

    def answer(self, request: Request) -> Response:
        """This page, or 304 Not Modified when the request names its ETag."""
        if self.etag in _etags(request.headers.get("if-none-match", "")):
            response = Response(status_code=304)
        else:
            response = Response(self.body, status_code=self.status)
        response.raw_headers = [
            *(h for h in response.raw_headers if h[0] == b"content-length"),
            *self.headers,
            (b"etag", self.etag.encode()),
        ]
        return response


def _etags(header: str) -> set[str]:
    if header.strip() == "*":
        return {"*"}
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


class PageCache:
    """Rendered pages by URL, for one version of the archive."""

    def __init__(
        self,
        read_version: Callable[[], object],
        *,
        check_seconds: float = CHECK_SECONDS,
        max_bytes: int = MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read_version = read_version
        self._check_seconds = check_seconds
        self._max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._reading = threading.Lock()
        self._pages: OrderedDict[str, Page] = OrderedDict()
        self._bytes = 0
        self._version: object = None
        self._checked_at: float | None = None

    def due(self) -> bool:
        """Whether the archive's version should be read again before a page is served."""
        checked = self._checked_at
        return checked is None or self._clock() - checked >= self._check_seconds

    def expire(self) -> None:
        """Read the archive's version on the next request, however recent the last check (for
        a change made in this process, which need not wait for the next check)."""
        with self._lock:
            self._checked_at = None

    def refresh(self) -> None:
        """Read the archive's version; drop every page if it changed. Requests that find a
        check under way meanwhile are answered from the pages held (one query at a time)."""
        if not self._reading.acquire(blocking=False):
            return
        try:
            version = self._read_version()
            with self._lock:
                self._checked_at = self._clock()
                if version != self._version:
                    self._version = version
                    self._pages.clear()
                    self._bytes = 0
        finally:
            self._reading.release()

    def get(self, key: str) -> Page | None:
        """The page kept for ``key``, if any."""
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: str, version: object, response: Response) -> Page | None:
        """Keep a 200 answer rendered under ``version`` (dropped if the version moved since)."""
        if response.status_code != 200 or not isinstance(response.body, bytes | memoryview):
            return None
        page = Page.of(response)
        with self._lock:
            if version != self._version or len(page.body) > self._max_bytes // 8:
                return page
            old = self._pages.pop(key, None)
            self._bytes += len(page.body) - (len(old.body) if old else 0)
            self._pages[key] = page
            while self._bytes > self._max_bytes:
                _, dropped = self._pages.popitem(last=False)
                self._bytes -= len(dropped.body)
        return page

    @property
    def held_bytes(self) -> int:
        """The size of the pages kept, in bytes of their bodies."""
        return self._bytes

    @property
    def version(self) -> object:
        """The archive version the kept pages were rendered from."""
        return self._version

    def route(
        self, render: Callable[[Request], Response]
    ) -> Callable[[Request], Awaitable[Response]]:
        """An async endpoint serving ``render``'s pages from the cache, rendering (in a worker
        thread, like any sync endpoint) only what it does not hold."""

        async def endpoint(request: Request) -> Response:
            if self.due():
                await run_in_threadpool(self.refresh)
            key = request.url.path + "?" + request.url.query
            page = self.get(key)
            if page is None:
                version = self.version
                response = await run_in_threadpool(render, request)
                page = self.put(key, version, response)
                if page is None:
                    return response
            return page.answer(request)

        return endpoint
