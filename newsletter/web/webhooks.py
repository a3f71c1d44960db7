"""``POST /webhooks/<provider>``: verify, store idempotently, act on bounces and complaints."""

from __future__ import annotations

import logging
import urllib.request
from typing import Any

from cryptography import x509
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from newsletter import events
from newsletter.errors import ConfigError, InputError
from newsletter.web.context import WebContext
from newsletter.webhooks import Unauthorized, mailgun, postmark, resend, sendgrid, ses

log = logging.getLogger("newsletter.webhooks")
PROVIDERS = ("postmark", "sendgrid", "mailgun", "resend", "ses")


def fetch_https(url: str) -> bytes:
    """GET an AWS URL (callers check the host first)."""
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (https on an SNS host only)
        return answer.read()  # type: ignore[no-any-return]


def endpoint(ctx: WebContext, *, fetch: ses.Fetch = fetch_https, now: Any = None) -> Any:
    replays = mailgun.Replays()
    certificates: dict[str, x509.Certificate] = {}

    def handle(provider: str, headers: dict[str, str], body: bytes) -> Response:
        secret = ctx.settings.secrets.webhook_secret
        if provider != "ses" and not secret:
            raise Unauthorized("NEWSLETTER_WEBHOOK_SECRET is not set: webhooks are refused")
        clock = now() if now else None
        if provider == "postmark":
            postmark.verify(headers, body, secret)
            found = postmark.parse(body)
        elif provider == "sendgrid":
            sendgrid.verify(headers, body, secret)
            found = sendgrid.parse(body)
        elif provider == "mailgun":
            mailgun.verify(headers, body, secret, replays, now=clock)
            found = mailgun.parse(body)
        elif provider == "resend":
            resend.verify(headers, body, secret, now=clock)
            found = resend.parse(body, headers.get("svix-id", ""))
        else:
            ses.verify(headers, body, fetch, certificates)
            url = ses.subscribe_url(body)
            if url:
                fetch(url)
                log.info("ses: confirmed the SNS subscription")
            found = ses.parse(body)
        with ctx.session() as session:
            new = events.record(session, ctx.suppressions, provider, found)
        return PlainTextResponse(f"ok: {new} new of {len(found)}")

    async def route(request: Request) -> Response:
        provider = str(request.path_params["provider"])
        if provider not in PROVIDERS:
            return PlainTextResponse("unknown provider", status_code=404)
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            return await run_in_threadpool(handle, provider, headers, body)
        except Unauthorized as exc:
            log.warning("webhook %s refused: %s", provider, exc)
            return PlainTextResponse("unauthorized", status_code=401)
        except InputError as exc:
            return PlainTextResponse(f"bad request: {exc}", status_code=400)
        except ConfigError as exc:
            log.error("webhook %s: %s", provider, exc)
            return PlainTextResponse("webhook not configured", status_code=401)

    return route
