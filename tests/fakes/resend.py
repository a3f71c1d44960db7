"""Resend's /emails/batch, as documented: Bearer key, up to 100, Idempotency-Key kept 24 h.

Idempotency (https://resend.com/docs/dashboard/emails/idempotency-keys): the same key with the
same payload returns the first answer and sends nothing; the same key with another payload is
409 ``invalid_idempotent_request``; the same key while its first request is still being
processed is 409 ``concurrent_idempotent_requests``.
"""

from __future__ import annotations

import hashlib
import time
import uuid

from tests.fakes.server import DROP, Accepted, Answer, Fake, Request


class ResendFake(Fake):
    name = "resend"

    def __init__(self, api_key: str = "re_test_key_123") -> None:
        super().__init__(api_key)
        self.keys: dict[str, tuple[str, Answer]] = {}
        self.inflight: set[str] = set()
        self.seen_keys: list[str] = []  # the key of every batch request, in order
        self.processing = 0.0  # seconds a batch takes once its key is taken

    def route(self, request: Request) -> Answer | object:
        if not request.headers.get("authorization"):
            return Answer(
                401,
                {
                    "name": "missing_api_key",
                    "message": "Missing API key in the authorization header.",
                },
            )
        if request.headers["authorization"] != f"Bearer {self.api_key}":
            return Answer(403, {"name": "invalid_api_key", "message": "API key is invalid."})
        if request.method == "GET" and request.path == "/domains":
            return Answer(200, {"data": [{"name": "example.com", "status": "verified"}]})
        if request.method != "POST" or request.path != "/emails/batch":
            return Answer(404, {"name": "not_found", "message": "not found"})
        key = request.headers.get("idempotency-key")
        with self.lock:
            self.seen_keys.append(key or "")
            if key and key in self.inflight:
                return Answer(
                    409,
                    {
                        "name": "concurrent_idempotent_requests",
                        "message": "Same idempotency key used while the original request is still in progress.",
                    },
                )
            if key:
                self.inflight.add(key)
        try:
            if self.processing:
                time.sleep(self.processing)
            return self._batch(request, key)
        finally:
            with self.lock:
                self.inflight.discard(key or "")

    def _batch(self, request: Request, key: str | None) -> Answer | object:
        digest = hashlib.sha256(request.body).hexdigest()
        if key and key in self.keys:
            seen, answer = self.keys[key]
            if seen != digest:
                return Answer(
                    409,
                    {
                        "name": "invalid_idempotent_request",
                        "message": "Same idempotency key used with a different request payload.",
                    },
                )
            return answer  # the same batch again: the same ids, nothing sent twice
        emails = request.json()
        if not isinstance(emails, list) or not 1 <= len(emails) <= 100:
            return Answer(
                422, {"name": "validation_error", "message": "The batch must hold 1 to 100 emails."}
            )
        permissive = request.headers.get("x-batch-validation") == "permissive"
        data, errors, taken = [], [], []
        for index, e in enumerate(emails):
            problem = None
            if (
                not e.get("from")
                or not e.get("to")
                or not e.get("subject")
                or not (e.get("html") or e.get("text"))
            ):
                problem = "Missing required field"
            elif len(e["to"]) > 50:
                problem = "Too many recipients"
            elif e["to"][0] in self.reject:
                problem = "Invalid `to` field."
            if problem:
                if not permissive:
                    return Answer(422, {"name": "validation_error", "message": problem})
                errors.append({"index": index, "message": problem})
                continue
            taken.append(
                Accepted(
                    e["to"][0],
                    e["subject"],
                    e.get("html", ""),
                    e.get("text", ""),
                    dict(e.get("headers") or {}),
                )
            )
            data.append({"id": str(uuid.uuid4())})
        answer = Answer(200, {"data": data, "errors": errors} if permissive else {"data": data})
        if key:
            self.keys[key] = (digest, answer)
        if self.take(taken) is DROP:
            return DROP
        return answer
