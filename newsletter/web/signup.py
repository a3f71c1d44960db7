"""Double opt-in signup: GET the form, POST it, and a confirmation email goes out.

The answer is the same page whatever the address's state (new, pending, active, left), so the
form reveals nothing about who is subscribed. A honeypot field and a per-address rate limit
keep simple bots out.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from newsletter import subscribers
from newsletter.confirmations import send_confirmation
from newsletter.errors import InputError, NewsletterError
from newsletter.web.context import WebContext

log = logging.getLogger("newsletter.web")


def form(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        return ctx.pages.render("signup.html.j2", email="", name="", error=None)

    return endpoint


def submit(ctx: WebContext) -> Any:
    async def endpoint(request: Request) -> Response:
        data = await request.form()
        email, name = str(data.get("email", "")).strip(), str(data.get("name", "")).strip()[:200]
        if data.get("website"):
            return _check_inbox(ctx)  # a bot filled the hidden field: pretend all is well
        client = request.client.host if request.client else "?"
        if not ctx.signups.allow(client):
            return ctx.pages.message(
                "Too many signups", "Please try again in a few minutes.", status=429
            )
        try:
            await run_in_threadpool(_signup, ctx, email, name)
        except InputError:
            error = "That does not look like an email address. Please check it."
            return ctx.pages.render(
                "signup.html.j2", status=400, email=email, name=name, error=error
            )
        return _check_inbox(ctx)

    return endpoint


def _signup(ctx: WebContext, email: str, name: str) -> None:
    with ctx.session() as session:
        person = subscribers.request_signup(session, email, name)
    if person is None:
        return
    try:
        send_confirmation(ctx.settings, ctx.tokens, person)
    except NewsletterError as exc:
        log.error("confirmation email to %s failed: %s", person.email, exc)


def _check_inbox(ctx: WebContext) -> Response:
    return ctx.pages.message(
        "Check your inbox",
        "If that address is not on our list yet, we have sent it a link to confirm.",
        "Nothing is sent until you click it.",
    )
