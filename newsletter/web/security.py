"""Headers on every answer and a cap on request bodies.

The dashboard (``/admin``) gets a policy of its own: its scripts are files under
``/admin/static`` (``script-src 'self'``: the charts, drag to reorder, the live preview, which
fetches its frame address: ``connect-src 'self'``), and it frames its own previews
(``frame-src 'self'``). Its pages are never stored by a browser or a proxy (``no-store``).
A preview frame (``/admin/preview/``) shows an email as sent, with its inline styles, in a
sandbox where no script runs. Still no inline script anywhere.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
        b"form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # tokens in our URLs never leak to other sites
    (b"x-frame-options", b"DENY"),
]
NO_STORE = (b"cache-control", b"no-store, private")
ADMIN_STATIC_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
        b"frame-ancestors 'none'",
    ),
    *HEADERS[1:],
]
ADMIN_HEADERS = [*ADMIN_STATIC_HEADERS, NO_STORE]
PREVIEW_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; img-src * data:; sandbox; "
        b"base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
    ),
    *HEADERS[1:3],
    (b"x-frame-options", b"SAMEORIGIN"),
    NO_STORE,
]
FORM_LIMIT = 16 * 1024
WEBHOOK_LIMIT = 2 * 1024 * 1024  # providers post batches of events
ADMIN_LIMIT = 1024 * 1024  # a tip's Markdown
IMPORT_LIMIT = 64 * 1024 * 1024  # a subscriber list (100,000 rows are about 6 MB)


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    """The security headers of an answer at ``path``."""
    if path.startswith("/admin/preview/"):
        return PREVIEW_HEADERS
    if path.startswith("/admin/static/"):
        return ADMIN_STATIC_HEADERS
    if path == "/admin" or path.startswith("/admin/") or path == "/metrics":
        return ADMIN_HEADERS
    return HEADERS


def limit_for(path: str) -> int:
    """The largest request body taken at ``path``."""
    if path.startswith("/webhooks/"):
        return WEBHOOK_LIMIT
    if path == "/admin/subscribers/import":
        return IMPORT_LIMIT
    if path.startswith("/admin/"):
        return ADMIN_LIMIT
    return FORM_LIMIT


class Security:
    """ASGI middleware: security headers, and 413 for a body over the limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        headers = headers_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, headers)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        try:
            await self.app(scope, limited, with_headers)
        except BodyTooLarge:
            await _too_large(send, headers)


class BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"text/plain"), *headers],
        }
    )
    await send({"type": "http.response.body", "body": b"Request body too large"})
