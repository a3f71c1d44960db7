"""Double opt-in signup: GET the form, POST it; the confirmation email is queued, not sent.

The answer is the same page, in the same time, whatever the address's state (new, pending,
active, left, bounced): the request only writes rows, and the web process's background sender
sends the email (see ``newsletter/signup.py`` and ``mailqueue.py``). A honeypot field keeps
simple bots out; limits per client and per address keep the form from being turned against
anyone's mailbox.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from newsletter import signup
from newsletter.errors import InputError
from newsletter.names import PersonName
from newsletter.web.context import WebContext

log = logging.getLogger("newsletter.web")


def form(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        return ctx.pages.render("signup.html.j2", email="", name="", error=None)

    return endpoint


def submit(ctx: WebContext) -> Any:
    keys = ctx.settings.require_secret_key()

    async def endpoint(request: Request) -> Response:
        data = await request.form()
        email, name = str(data.get("email", "")), str(data.get("name", ""))[:200]
        if data.get("website"):
            return _check_inbox(ctx)  # a bot filled the hidden field: pretend all is well
        client = signup.client_key(keys, request.client.host if request.client else "?")
        try:
            outcome = await run_in_threadpool(_signup, ctx, email, name, client)
        except signup.TooManySignups:
            return ctx.pages.message(
                "Too many signups", "Please try again in a few minutes.", status=429
            )
        except InputError as exc:
            error = (
                str(exc).split(" (U+")[0].capitalize() + ". Please check it."
                if "control character" in str(exc)
                else "That does not look like an email address. Please check it."
            )
            return ctx.pages.render(
                "signup.html.j2",
                status=400,
                email=_printable(email),
                name=_printable(name),
                error=error,
            )
        if outcome == "queued":
            ctx.mailer.wake()
        return _check_inbox(ctx)

    return endpoint


def _signup(ctx: WebContext, email: str, name: str, client: str) -> str:
    for attempt in (1, 2):
        try:
            with ctx.session() as session:
                return signup.request(
                    session,
                    ctx.suppressions,
                    ctx.settings.signup,
                    email,
                    PersonName(name),
                    client,
                )
        except IntegrityError:
            # The same new address signed up twice at once (another process won the insert):
            # the second try finds the row.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _printable(text: str) -> str:
    """The input shown back in the form, without the control characters that were refused."""
    return "".join(c for c in text if c.isprintable() or c == " ").strip()


def _check_inbox(ctx: WebContext) -> Response:
    return ctx.pages.message(
        "Check your inbox",
        "If that address is not on our list yet, we have sent it a link to confirm.",
        "Nothing is sent until you click it.",
    )
