"""The operator's dashboard under ``/admin`` (and ``/metrics``): server-rendered pages over
the same library functions as the CLI. See ``door`` for what every request goes through."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from newsletter.render import template_environment
from newsletter.resources import templates_dir
from newsletter.web.admin import (
    auth,
    door,
    drafts,
    editions,
    importing,
    metrics,
    overview,
    people,
    queue,
    trends,
)
from newsletter.web.admin.door import Admin, Call
from newsletter.web.admin.jobs import Jobs
from newsletter.web.admin.scratch import Scratch
from newsletter.web.admin.sessions import Codec
from newsletter.web.context import WebContext

BOTH = ["GET", "POST"]


class Dashboard:
    """The dashboard's routes, and what must stop with the app (its sends)."""

    def __init__(self, ctx: WebContext) -> None:
        """The dashboard over the web app's context (its settings, database, pages)."""
        settings = ctx.settings
        codec = Codec(
            settings.require_secret_key(),
            secure=settings.newsletter.base_url.startswith("https://"),
        )
        self.jobs = Jobs(settings, ctx.engine)
        self.admin = Admin(ctx, codec, template_environment(settings), Scratch(), self.jobs)

    def routes(self) -> list[BaseRoute]:
        """``/admin/…`` and ``/metrics``, for the app's route list."""
        a = self.admin

        def page(path: str, handler: door.Handler) -> Route:
            return Route(path, door.page(a, handler), methods=["GET"])

        def action(path: str, handler: door.Handler) -> Route:
            return Route(path, door.action(a, handler), methods=BOTH)

        def both(path: str, show: door.Handler, do: door.Handler) -> Route:
            return Route(path, door.form(a, show, do), methods=BOTH)

        inner = [
            Route("/login", door.public(a, _by_method(auth.login_page, auth.login)), methods=BOTH),
            action("/logout", auth.logout),
            page("/", overview.overview),
            page("/queue", queue.calendar),
            both("/queue/new", drafts.new_page, drafts.submit),
            action("/queue/preview", drafts.live),
            action("/queue/reorder", queue.reorder),
            page("/queue/{slug}", queue.tip_page),
            action("/queue/{slug}/move", queue.move),
            action("/queue/{slug}/pin", queue.pin),
            action("/queue/{slug}/unpin", queue.unpin),
            action("/queue/{slug}/skip", queue.skip),
            action("/queue/{slug}/unskip", queue.unskip),
            both("/queue/{slug}/remove", queue.remove_page, queue.remove),
            action("/queue/{slug}/test", queue.test_send),
            page("/preview/tip/{slug}", drafts.tip_frame),
            page("/preview/draft/{key}", drafts.frame),
            page("/editions", editions.listing),
            page("/editions/{week}", editions.report),
            both("/editions/{week}/resend", editions.resend_page, editions.resend),
            page("/subscribers", people.listing),
            action("/subscribers/add", people.add),
            page("/subscribers/export.csv", people.export),
            both("/subscribers/import", importing.form, importing.upload),
            action("/subscribers/import/confirm", importing.confirm),
            action("/subscribers/import/cancel", importing.cancel),
            page("/subscribers/{id:int}", people.one),
            action("/subscribers/{id:int}/unsubscribe", people.unsubscribe),
            action("/subscribers/{id:int}/resubscribe", people.resubscribe),
            both("/subscribers/{id:int}/remove", people.remove_page, people.remove),
            page("/growth", trends.growth_page),
        ]
        not_found = door.page(a, _not_found)

        async def default(scope: Scope, receive: Receive, send: Send) -> None:
            response = await not_found(Request(scope, receive))
            await response(scope, receive, send)

        return [
            Route("/admin", lambda request: RedirectResponse("/admin/", status_code=308)),
            # The dashboard's own CSS, scripts and Chart.js: always the packaged files.
            Mount("/admin/static", StaticFiles(directory=str(templates_dir() / "static"))),
            Mount("/admin", app=Router(inner, default=default)),
            Route("/metrics", metrics.endpoint(a.web), methods=["GET"]),
        ]

    def close(self) -> None:
        """Stop the dashboard's sends (after their batches in flight)."""
        self.jobs.close()


def _by_method(show: door.Handler, do: door.Handler) -> door.Handler:
    def handler(call: Call) -> Any:
        return do(call) if call.request.method == "POST" else show(call)

    return handler


def _not_found(call: Call) -> Any:
    return call.render(
        "message.html.j2",
        404,
        heading="Page not found",
        lines=["There is no dashboard page at this address."],
    )
