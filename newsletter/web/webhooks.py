"""``POST /webhooks/<provider>``: verify, store idempotently, act on bounces and complaints.

Every answer is decided here from the verifiers' exceptions: 401 unproven (or not configured),
400 malformed, 503 when a needed fetch failed; 200 with how many events were new. No body
reaches the database, or makes us fetch anything, before the provider's checks pass.
"""

from __future__ import annotations

import logging
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from newsletter import events
from newsletter.errors import ConfigError, InputError
from newsletter.web.context import WebContext
from newsletter.webhooks import (
    Event,
    Unauthorized,
    Unreachable,
    mailgun,
    postmark,
    resend,
    sendgrid,
    ses,
)

log = logging.getLogger("newsletter.webhooks")
FETCH_LIMIT = 64 * 1024  # a PEM certificate or a confirmation answer is a few KB


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the URL was checked; where it might send us was not


_opener = urllib.request.build_opener(_NoRedirects)


def fetch_https(url: str) -> bytes:
    """GET an SNS URL (the caller checked scheme and host), without following redirects."""
    with _opener.open(url, timeout=10) as answer:
        return answer.read(FETCH_LIMIT)  # type: ignore[no-any-return]


Handler = Callable[[Mapping[str, str], bytes], list[Event]]


def endpoint(ctx: WebContext, *, fetch: ses.Fetch = fetch_https, now: Any = None) -> Any:
    """The route; ``fetch`` and ``now`` (a clock returning Unix seconds) are seams for tests."""
    replays = mailgun.Replays()
    certificates = ses.Certificates(fetch)

    def secret() -> str:
        value = ctx.settings.secrets.webhook_secret
        if not value:
            raise Unauthorized("NEWSLETTER_WEBHOOK_SECRET is not set: webhooks are refused")
        return value

    def clock() -> float:
        return float(now()) if now else time.time()

    def from_postmark(headers: Mapping[str, str], raw: bytes) -> list[Event]:
        postmark.verify(headers, secret())
        return postmark.parse(raw)

    def from_sendgrid(headers: Mapping[str, str], raw: bytes) -> list[Event]:
        sendgrid.verify(headers, raw, secret())
        return sendgrid.parse(raw)

    def from_mailgun(headers: Mapping[str, str], raw: bytes) -> list[Event]:
        return mailgun.parse(mailgun.verify(raw, secret(), replays, now=clock()))

    def from_resend(headers: Mapping[str, str], raw: bytes) -> list[Event]:
        resend.verify(headers, raw, secret(), now=clock())
        return resend.parse(raw, headers.get("svix-id", ""))

    def from_ses(headers: Mapping[str, str], raw: bytes) -> list[Event]:
        message = ses.read(raw, ctx.settings.webhooks.ses_topics)
        ses.verify(message, certificates)
        if message.subscribe_url:
            try:
                fetch(message.subscribe_url)
            except OSError as exc:
                raise Unreachable(f"ses: could not confirm the subscription: {exc}") from exc
            log.info("ses: confirmed the SNS subscription to %s", message.topic_arn)
        elif message.type == "UnsubscribeConfirmation":
            log.warning("ses: SNS says this endpoint was unsubscribed from %s", message.topic_arn)
        return ses.parse(message)

    handlers: dict[str, Handler] = {
        "postmark": from_postmark,
        "sendgrid": from_sendgrid,
        "mailgun": from_mailgun,
        "resend": from_resend,
        "ses": from_ses,
    }

    def handle(provider: str, headers: dict[str, str], raw: bytes) -> Response:
        found = handlers[provider](headers, raw)
        with ctx.session() as session:
            new = events.record(session, ctx.suppressions, provider, found)
        return PlainTextResponse(f"ok: {new} new of {len(found)}")

    async def route(request: Request) -> Response:
        provider = str(request.path_params["provider"])
        if provider not in handlers:
            return PlainTextResponse("unknown provider", status_code=404)
        raw = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            return await run_in_threadpool(handle, provider, headers, raw)
        except Unauthorized as exc:
            log.warning("webhook %s refused: %s", provider, exc)
            return PlainTextResponse("unauthorized", status_code=401)
        except InputError as exc:
            log.info("webhook %s: bad request: %s", provider, exc)
            return PlainTextResponse(f"bad request: {exc}", status_code=400)
        except ConfigError as exc:
            log.error("webhook %s refused: %s", provider, exc)
            return PlainTextResponse("webhook not configured", status_code=401)
        except Unreachable as exc:
            log.error("webhook %s: %s", provider, exc)
            return PlainTextResponse("try again later", status_code=503)

    return route
