"""Where alerts go in the tests: a chat webhook (JSON ``{"text": …}``) and a dead man's switch
(healthchecks.io style: ``/ping/<uuid>``, ``/ping/<uuid>/start``, ``/ping/<uuid>/fail``)."""

from __future__ import annotations

from tests.fakes.server import Answer, Fake, Request


class Sink(Fake):
    name = "sink"

    def __init__(self) -> None:
        super().__init__("")
        self.received: list[Request] = []

    def route(self, request: Request) -> Answer | object:
        with self.lock:
            self.received.append(request)
        if request.path.startswith("/hook") and "text" not in request.json():
            return Answer(400, {"error": "no text field"})
        return Answer(200, {"ok": True})

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hook"

    @property
    def ping_url(self) -> str:
        return f"{self.url}/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"

    def texts(self) -> list[str]:
        return [r.json()["text"] for r in self.received if r.path.startswith("/hook")]

    def pings(self) -> list[str]:
        """The ping states in order: "start", "success" or "fail"."""
        states = []
        for r in self.received:
            if r.path.startswith("/ping/"):
                tail = r.path.rsplit("/", 1)[-1]
                states.append(tail if tail in ("start", "fail") else "success")
        return states
