"""The dashboard's front door: every page and action goes through ``page`` or ``action``.

They read the session cookie and the account behind it (no account: the login page, and no
data), check the CSRF token of every POST before anything else (a missing or wrong token is
a 403 that changes nothing), run the handler in a thread (handlers are plain functions over
the library), turn a ``NewsletterError`` from an action into a message on the page it came
from, and keep the cookie fresh. Handlers only parse, call one library function and present.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from newsletter import admins
from newsletter.errors import NewsletterError
from newsletter.web.admin.jobs import Jobs
from newsletter.web.admin.scratch import Scratch
from newsletter.web.admin.sessions import COOKIE, Codec, Visit, safe_next
from newsletter.web.context import WebContext
from newsletter.weeks import human_date, human_moment

log = logging.getLogger("newsletter.web.admin")

UPLOAD_PART_LIMIT = 1024 * 1024  # a form field (a tip's Markdown); files are spooled to disk


@dataclass
class Admin:
    """What every dashboard handler shares: the web context, the cookie codec, templates."""

    web: WebContext
    codec: Codec
    env: Environment
    scratch: Scratch
    jobs: Jobs

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction."""
        with self.web.session() as session:
            yield session


@dataclass
class Call:
    """One request to the dashboard, by a logged-in operator (or, for login, by anyone)."""

    admin: Admin
    request: Request
    visit: Visit
    user_id: int | None = None
    email: str = ""
    form: FormData | None = None
    dirty: bool = False  # the visit changed: the cookie must be written

    @property
    def via(self) -> str:
        """What the event log says a change came through."""
        return f"admin:{self.email}"

    def session(self) -> AbstractContextManager[Session]:
        """One transaction (``with call.session() as session``)."""
        return self.admin.session()

    def field(self, name: str, default: str = "") -> str:
        """A text field of the posted form (trimmed of nothing: the library decides)."""
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else default

    def upload(self, name: str) -> UploadFile | None:
        """A file field of the posted form, if a file was chosen."""
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, UploadFile) and value.filename else None

    def param(self, name: str, default: str = "") -> str:
        """A query parameter."""
        return self.request.query_params.get(name, default)

    @property
    def here(self) -> str:
        """This page's path and query (the default place to come back to)."""
        query = self.request.url.query
        return self.request.url.path + (f"?{query}" if query else "")

    def render(self, template: str, code: int = 200, /, **context: Any) -> HTMLResponse:
        """A dashboard page, with the one-shot message of the last action shown once."""
        flash = self.visit.flash
        if flash:
            self.visit = replace(self.visit, flash="")
            self.dirty = True
        kind, _, text = flash.partition("|")
        settings = self.admin.web.settings
        page = self.admin.env.get_template(f"admin/{template}").render(
            newsletter=settings.newsletter,
            links=self.admin.web.pages.links,
            url=self.admin.web.pages.url,
            csrf=self.visit.csrf,
            me=self.email,
            here=self.here,
            path=self.request.url.path,
            flash={"kind": kind, "text": text} if flash else None,
            **formats(settings.schedule.timezone),
            **context,
        )
        return HTMLResponse(page, status_code=code)

    def redirect(self, path: str, message: str = "", *, error: bool = False) -> Response:
        """See other (303), with a message for the next page."""
        if message:
            self.visit = self.visit.with_flash(f"{'error' if error else 'ok'}|{message}")
            self.dirty = True
        return RedirectResponse(path, status_code=303)


Handler = Callable[[Call], Response]


def formats(timezone: str) -> dict[str, Callable[[Any], str]]:
    """How pages show times: a day or a moment in the schedule's zone (from a datetime, or
    from an ISO 8601 text as ``subscribers.history`` gives them)."""
    zone = ZoneInfo(timezone)

    def day(moment: datetime) -> str:
        return human_date(moment.astimezone(zone).date())

    def when(moment: datetime) -> str:
        return human_moment(moment.astimezone(zone))

    def when_iso(value: str | None) -> str:
        return when(datetime.fromisoformat(value)) if value else "–"

    return {"day": day, "when": when, "when_iso": when_iso}


def page(admin: Admin, handler: Handler) -> Callable[[Request], Any]:
    """A page that needs a logged-in operator (GET)."""
    return form(admin, handler, None)


def action(admin: Admin, handler: Handler) -> Callable[[Request], Any]:
    """A change (POST, CSRF-checked). A GET of its address changes nothing: the login page
    without a session, else a page that says so."""
    return form(admin, None, handler)


def form(admin: Admin, show: Handler | None, do: Handler | None) -> Callable[[Request], Any]:
    """A page (GET: ``show``) whose form posts back to it (POST: ``do``)."""

    async def endpoint(request: Request) -> Response:
        return await _enter(admin, request, show, do)

    return endpoint


def public(admin: Admin, handler: Handler) -> Callable[[Request], Any]:
    """A page anyone may open (the login page): the visit, but no account needed."""

    async def endpoint(request: Request) -> Response:
        visit = admin.codec.read(request.cookies.get(COOKIE))
        call = Call(admin, request, visit, dirty=request.cookies.get(COOKIE) is None)
        if request.method == "POST":
            call.form = await request.form()
            if not visit.csrf_matches(call.form.get("csrf")):
                return _finish(admin, call, forbidden(call))
        response = await run_in_threadpool(handler, call)
        return _finish(admin, call, response)

    return endpoint


async def _enter(
    admin: Admin, request: Request, show: Handler | None, do: Handler | None
) -> Response:
    visit = admin.codec.read(request.cookies.get(COOKIE))
    user = await run_in_threadpool(_account, admin, visit) if visit.user_id is not None else None
    if user is None:
        return _to_login(admin, request, visit)
    call = Call(admin, request, visit, user[0], user[1])
    post = request.method == "POST"
    handler = do if post else show if request.method in ("GET", "HEAD") else None
    if handler is None:
        return _finish(admin, call, call.render("message.html.j2", 405, **_not_allowed()))
    if post:
        call.form = await request.form(max_part_size=UPLOAD_PART_LIMIT)
        if not visit.csrf_matches(call.form.get("csrf")):
            log.warning(
                "dashboard: refused a form without this session's CSRF token: %s", request.url.path
            )
            await call.form.close()
            return _finish(admin, call, forbidden(call))
    try:
        response = await run_in_threadpool(handler, call)
    except NewsletterError as exc:
        if not post:
            return _finish(
                admin,
                call,
                call.render(
                    "message.html.j2", 404, heading="Not found", lines=[_sentence(str(exc))]
                ),
            )
        back = safe_next(call.field("back")) if call.field("back") else "/admin/"
        response = call.redirect(back, _sentence(str(exc)), error=True)
    finally:
        if call.form is not None:
            await call.form.close()
    return _finish(admin, call, response)


def _account(admin: Admin, visit: Visit) -> tuple[int, str] | None:
    assert visit.user_id is not None
    with admin.session() as session:
        user = admins.session_user(session, visit.user_id, visit.key)
        return (user.id, user.email) if user is not None else None


def _to_login(admin: Admin, request: Request, visit: Visit) -> Response:
    """No session (or it ended): to the login page, coming back here afterwards."""
    target = "/admin/login"
    if request.method in ("GET", "HEAD"):
        query = request.url.query
        here = request.url.path + (f"?{query}" if query else "")
        if safe_next(here) != "/admin/":
            target += "?next=" + quote(here, safe="")
    response = RedirectResponse(target, status_code=303)
    ended = visit.expired or visit.user_id is not None  # too old, or its account changed
    fresh = Visit.fresh("error|Your session has ended: please log in again." if ended else "")
    admin.codec.write(response, fresh)
    return response


def _finish(admin: Admin, call: Call, response: Response) -> Response:
    if call.dirty or admin.codec.needs_refresh(call.visit):
        admin.codec.write(response, call.visit)
    return response


def forbidden(call: Call) -> Response:
    """The answer to a form without this session's CSRF token: nothing was done."""
    return call.render(
        "message.html.j2",
        403,
        heading="This form has expired",
        lines=[
            "Nothing was changed: the form did not carry this session's security token "
            "(it was open from before a login, or it came from another site).",
            "Go back, reload the page and try again.",
        ],
    )


def _not_allowed() -> dict[str, Any]:
    return {
        "heading": "Nothing to see here",
        "lines": ["This address only takes a form's button. Nothing was changed."],
    }


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else "That did not work."
