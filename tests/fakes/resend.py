"""Resend's /emails/batch, as documented: Bearer key, up to 100, Idempotency-Key kept 24 h.

Idempotency (https://resend.com/docs/dashboard/emails/idempotency-keys): the same key with the
same payload returns the first answer and sends nothing; the same key with another payload is
409 ``invalid_idempotent_request``; the same key while its first request is still being
processed is 409 ``concurrent_idempotent_requests``.

Batch (https://resend.com/docs/api-reference/emails/send-batch-emails): 1 to 100 emails; each
with ``from``, ``to`` (at most 50), ``subject``, ``html`` or ``text``; ``headers`` an object of
strings (Reply-To goes in ``reply_to``: a Reply-To header beside it is refused); ``tags`` names
and values of ASCII letters, numbers, underscores or dashes, up to 256 characters; no
``attachments`` or ``scheduled_at`` in a batch. ``x-batch-validation: permissive`` refuses the
invalid emails by index and sends the others. The rate limit (2 requests a second per team by
default, https://resend.com/docs/api-reference/rate-limit) is the base fake's ``rate_limit``.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from typing import Any

from tests.fakes.server import DROP, Accepted, Answer, Fake, Request

TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def problem(e: Any) -> str | None:
    """Why Resend would refuse this email (a validation error), or None."""
    if not isinstance(e, dict):
        return "Each email must be an object"
    if not e.get("from") or not e.get("to") or not e.get("subject"):
        return "Missing required field"
    if not (e.get("html") or e.get("text")):
        return "Missing `html` or `text` field"
    to = e["to"] if isinstance(e["to"], list) else [e["to"]]
    if len(to) > 50:
        return "Too many recipients"
    if "attachments" in e or "scheduled_at" in e:
        return "`attachments` and `scheduled_at` are not supported in a batch"
    headers = e.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return "`headers` must be an object of strings"
    if any(k.lower() == "reply-to" for k in headers) and "reply_to" in e:
        return "Reply-To given twice (`reply_to` and a header)"
    for tag in e.get("tags", []):
        if not isinstance(tag, dict) or not all(
            isinstance(tag.get(k), str) and TAG.match(tag[k]) for k in ("name", "value")
        ):
            return "Tags may only contain ASCII letters, numbers, underscores, or dashes"
    return None


class ResendFake(Fake):
    name = "resend"
    max_body = 40 * 1024 * 1024

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
            refused = problem(e)
            if refused is None and e["to"][0] in self.reject:
                refused = "Invalid `to` field."
            if refused:
                if not permissive:
                    return Answer(422, {"name": "validation_error", "message": refused})
                errors.append({"index": index, "message": refused})
                continue
            headers = {**(e.get("headers") or {}), "From": e["from"]}
            if e.get("reply_to"):
                headers["Reply-To"] = e["reply_to"]
            taken.append(
                Accepted(e["to"][0], e["subject"], e.get("html", ""), e.get("text", ""), headers)
            )
            data.append({"id": str(uuid.uuid4())})
        answer = Answer(200, {"data": data, "errors": errors} if permissive else {"data": data})
        if key:
            self.keys[key] = (digest, answer)
        if self.take(taken) is DROP:
            return DROP
        return answer
