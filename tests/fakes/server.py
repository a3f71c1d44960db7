"""A real HTTP server on 127.0.0.1 standing in for a provider, with switches for faults.

Each provider fake subclasses ``Fake`` and implements ``route`` from the provider's documented
API. The switches:

- ``every``: a status to answer instead, on every Nth call (e.g. {7: 429, 11: 500}); nothing is
  taken. 502/503/504 come as a gateway's HTML page, the others as the provider's JSON.
- ``after``: on every Nth call the provider TAKES the batch, then the answer is lost:
  ``"drop"`` (the connection closes without an answer), ``"504"`` (a gateway's HTML 504),
  ``"html500"`` (an HTML 500 page), ``"garbage"`` (a 200 whose body is not JSON).
- ``delay`` (a slow answer), ``reject`` (addresses refused one by one), ``die_after`` (after
  that many accepted messages the server takes the batch, drops the connection without an
  answer, and refuses connections for ``down_for`` seconds before it comes back).
- ``script``: what the next calls do, one entry per call, consumed in order before the other
  switches: a status (refused, nothing taken) or one of the ``after`` kinds (taken, then lost).
- ``echo_secrets``: a refused credential is echoed in the 401/403 body, as some APIs do.
- ``rate_limit``: requests per second allowed (a token bucket with a burst of one second's
  worth); past it, 429 with ``retry-after`` and ``ratelimit-*`` headers, as Resend answers.

Always, as strict API front ends are: a body must come with a Content-Length (a chunked upload
is refused with 411), and one larger than the provider's documented ``max_body`` gets 413.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DROP = object()  # answer nothing and close the connection


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


GATEWAY_PAGE = b"<html><head><title>%d</title></head><body><h1>%d Gateway Error</h1></body></html>"


def gateway(status: int) -> Answer:
    """What a load balancer in front of the API answers: an HTML page."""
    return Answer(status, GATEWAY_PAGE % (status, status), content_type="text/html")


@dataclass
class Accepted:
    """One message the fake took, as a recipient would get it."""

    to: str
    subject: str
    html: str
    text: str
    headers: dict[str, str]


class Fake:
    """Subclasses set ``name`` (and ``max_body``) and implement ``route``."""

    name = "fake"
    max_body = 50 * 1024 * 1024

    def __init__(self, api_key: str = "test-key-123") -> None:
        self.api_key = api_key
        self.accepted: list[Accepted] = []
        self.calls = 0
        self.every: dict[int, int] = {}
        self.after: dict[int, str] = {}
        self.script: list[int | str] = []
        self.echo_secrets = False
        self.rate_limit: float | None = None
        self.rate_limited = 0  # how many requests got a 429 for going too fast
        self._allowance = 0.0
        self._allowance_at = 0.0
        self.retry_after = "0"
        self.delay = 0.0
        self.reject: set[str] = set()
        self.die_after: int | None = None
        self.down_for = 0.5
        self.keep = True  # False (benchmarks): count messages, do not keep them
        self.taken = 0
        self.taken_at: list[tuple[float, int]] = []  # (monotonic time, messages) per call
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    # ---- what subclasses implement -------------------------------------------------------

    def route(self, request: Request) -> Answer | object:
        raise NotImplementedError

    # ---- helpers for subclasses -------------------------------------------------------------

    def take(self, messages: list[Accepted]) -> object | None:
        """Record messages; returns DROP when this batch is where the server dies."""
        with self.lock:
            self.taken += len(messages)
            self.taken_at.append((time.monotonic(), len(messages)))
            if self.keep:
                self.accepted.extend(messages)
            if self.die_after is not None and self.taken >= self.die_after:
                self.die_after = None
                threading.Thread(target=self._outage, daemon=True).start()
                return DROP
        return None

    def counts(self) -> Counter[str]:
        return Counter(m.to for m in self.accepted)

    # ---- the server -------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Fake:
        self._serve(self.port)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _serve(self, port: int) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                if headers.get("transfer-encoding", "").lower() == "chunked":
                    self._read_chunked()
                    answer: Answer | object = Answer(411, {"message": "Length Required"})
                elif int(headers.get("content-length") or 0) > fake.max_body:
                    self.close_connection = True  # not reading a body that large
                    answer = Answer(413, {"message": "Request Entity Too Large"})
                else:
                    data = self.rfile.read(int(headers.get("content-length") or 0))
                    answer = fake._dispatch(Request(self.command, self.path, headers, data))
                if answer is DROP:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                assert isinstance(answer, Answer)
                data = (
                    b""
                    if answer.body is None
                    else (
                        answer.body
                        if isinstance(answer.body, bytes)
                        else json.dumps(answer.body).encode()
                    )
                )
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _read_chunked(self) -> bytes:
                parts = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()

            do_GET = do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def _too_fast(self) -> Answer | None:
        """A token bucket of ``rate_limit`` requests a second (burst: one second's worth)."""
        if self.rate_limit is None:
            return None
        with self.lock:
            now = time.monotonic()
            self._allowance = min(
                self.rate_limit,
                self._allowance + (now - self._allowance_at) * self.rate_limit
                if self._allowance_at
                else self.rate_limit,
            )
            self._allowance_at = now
            if self._allowance >= 1:
                self._allowance -= 1
                return None
            self.rate_limited += 1
        return Answer(
            429,
            {"name": "rate_limit_exceeded", "message": "Too many requests."},
            {
                "retry-after": "1",
                "ratelimit-limit": str(int(self.rate_limit)),
                "ratelimit-remaining": "0",
                "ratelimit-reset": "1",
            },
        )

    def _dispatch(self, request: Request) -> Answer | object:
        with self.lock:
            self.calls += 1
            call = self.calls
            step = self.script.pop(0) if self.script else None
        if request.method == "POST":
            limited = self._too_fast()
            if limited is not None:
                return limited
        if self.delay:
            time.sleep(self.delay)
        if isinstance(step, int):
            return self._refuse(step)
        if step is not None:
            answer = self.route(request)
            return (
                self._lost(step) if isinstance(answer, Answer) and answer.status < 300 else answer
            )
        for n, status in sorted(self.every.items()):
            if call % n == 0:
                return self._refuse(status)
        answer = self.route(request)
        if isinstance(answer, Answer) and answer.status in (401, 403) and self.echo_secrets:
            return self._echo(request, answer)
        for n, kind in sorted(self.after.items()):
            if call % n == 0 and isinstance(answer, Answer) and answer.status < 300:
                return self._lost(kind)
        return answer

    def _refuse(self, status: int) -> Answer:
        if status in (502, 503, 504):
            return gateway(status)
        return Answer(status, {"message": f"injected {status}"}, {"Retry-After": self.retry_after})

    def _lost(self, kind: str) -> Answer | object:
        """The batch was taken; what comes back instead of the answer."""
        if kind == "drop":
            return DROP
        if kind == "504":
            return gateway(504)
        if kind == "html500":
            return Answer(
                500, b"<html><body>Internal Server Error</body></html>", content_type="text/html"
            )
        if kind == "garbage":
            return Answer(200, b"<html><body>OK</body></html>", content_type="text/html")
        raise ValueError(kind)

    def _echo(self, request: Request, answer: Answer) -> Answer:
        """Some APIs quote the credential they refused."""
        given = {
            k: v
            for k, v in request.headers.items()
            if k in ("authorization", "x-postmark-server-token")
        }
        token = next(iter(given.values()), "").split(" ")[-1]
        return Answer(
            answer.status,
            {"message": f"Invalid token '{token}'", "Message": f"Headers were {given}"},
            content_type=answer.content_type,
        )

    def _outage(self) -> None:
        time.sleep(0.05)  # let the dropped answer go first
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        time.sleep(self.down_for)
        self._serve(self.port)
