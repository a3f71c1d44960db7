"""The links in emails: unsubscribe (GET shows, POST does: RFC 8058), resubscribe, confirm.

GET never changes anything, so link scanners and prefetchers unsubscribe nobody. A POST to the
unsubscribe URL unsubscribes at once, whatever its body: a mail client's one-click POST
(``List-Unsubscribe=One-Click``, no cookies) and the page's button alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from newsletter import mailqueue, subscribers
from newsletter.errors import InputError
from newsletter.models import Edition, Subscriber
from newsletter.tokens import CONFIRM, RESUBSCRIBE, UNSUBSCRIBE, LinkToken
from newsletter.web.context import WebContext
from newsletter.web.pages import mask


def _invalid(ctx: WebContext, exc: InputError) -> Response:
    return ctx.pages.message(
        "This link is not valid",
        f"{str(exc).capitalize()}. It may have been cut short or changed.",
        "If you want to sign up again, you can do it here:",
        status=400,
        offer_signup=True,
    )


def _held(ctx: WebContext, address: str) -> Response:
    return ctx.pages.message(
        "We cannot send to this address",
        f"Mail to {mask(address)} bounced or was reported as spam, so we stopped for good.",
        "If that was a mistake, please write to us.",
        status=409,
    )


def _read(ctx: WebContext, purpose: str, request: Request) -> LinkToken:
    return ctx.tokens.read(purpose, str(request.path_params["token"]))


def _subscriber(session: Session, link: LinkToken) -> Subscriber:
    found = session.get(Subscriber, link.subscriber_id)
    if found is None:
        raise InputError("this address is no longer on our list")
    return found


def unsubscribe_page(ctx: WebContext) -> Any:
    # The page behind every unsubscribe link, and what link scanners fetch: one indexed read,
    # done on the event loop (no worker-thread hop for a sub-millisecond query).
    async def endpoint(request: Request) -> Response:
        try:
            link = _read(ctx, UNSUBSCRIBE, request)
            with ctx.engine.connect() as conn:
                found = subscribers.address_and_status(conn, link.subscriber_id)
            if found is None:
                raise InputError("this address is no longer on our list")
        except InputError as exc:
            return _invalid(ctx, exc)
        address, status = found
        if status == "unsubscribed":
            return ctx.pages.message(
                "You are unsubscribed", f"{mask(address)} gets no more emails from us."
            )
        return ctx.pages.message(
            "Unsubscribe?",
            f"Stop sending {ctx.settings.newsletter.name} to {mask(address)}?",
            form_action=str(request.url.path),
            button="Unsubscribe",
        )

    return endpoint


def unsubscribe(ctx: WebContext) -> Any:
    async def endpoint(request: Request) -> Response:
        form = await request.form()
        one_click = form.get("List-Unsubscribe") == "One-Click"
        return await run_in_threadpool(_unsubscribe, ctx, request, one_click)

    return endpoint


def _unsubscribe(ctx: WebContext, request: Request, one_click: bool) -> Response:
    try:
        link = _read(ctx, UNSUBSCRIBE, request)
        with ctx.session() as session:
            person = _subscriber(session, link)
            # The edition only says which email the click came from; an unknown one is dropped.
            edition = session.get(Edition, link.edition_id) if link.edition_id else None
            changed = subscribers.unsubscribe(
                session,
                ctx.suppressions,
                person,
                via="one-click" if one_click else "web",
                edition_id=edition.id if edition else None,
            )
            address, subscriber_id = person.email, person.id
    except InputError as exc:
        return _invalid(ctx, exc)
    resubscribe = ctx.pages.url(f"r/{ctx.tokens.make(RESUBSCRIBE, subscriber_id)}")
    heading = "You are unsubscribed" if changed else "You were already unsubscribed"
    return ctx.pages.message(
        heading,
        f"{mask(address)} gets no more emails from {ctx.settings.newsletter.name}.",
        "Changed your mind?",
        form_action=resubscribe,
        button="Resubscribe",
    )


def resubscribe(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        try:
            link = _read(ctx, RESUBSCRIBE, request)
            with ctx.session() as session:
                person = _subscriber(session, link)
                address = person.email
                subscribers.resubscribe(session, ctx.suppressions, person, via="web")
        except subscribers.Suppressed:
            return _held(ctx, address)
        except InputError as exc:
            return _invalid(ctx, exc)
        return ctx.pages.message("Welcome back", f"{mask(address)} will get the next tip.")

    return endpoint


def confirm_page(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        try:
            _read(ctx, CONFIRM, request)
        except InputError as exc:
            return _invalid(ctx, exc)
        return ctx.pages.message(
            "Confirm your subscription",
            f"One click and you will get {ctx.settings.newsletter.name} every week.",
            form_action=str(request.url.path),
            button="Confirm",
        )

    return endpoint


def confirm(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        welcome = False
        try:
            link = _read(ctx, CONFIRM, request)
            with ctx.session() as session:
                person = _subscriber(session, link)
                address = person.email
                if subscribers.confirm(session, ctx.suppressions, person, via="web"):
                    welcome = ctx.settings.signup.welcome == "latest"
                    if welcome:
                        # Recorded with the confirmation, sent by the background sender.
                        mailqueue.queue(session, "welcome", person.id)
        except subscribers.Suppressed:
            return _held(ctx, address)
        except InputError as exc:
            return _invalid(ctx, exc)
        if welcome:
            ctx.mailer.wake()
        return ctx.pages.message(
            "You are subscribed", f"{mask(address)} will get the next tip. Welcome!"
        )

    return endpoint
