"""The web app: the links in the emails, signup, provider webhooks, the public archive."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.staticfiles import StaticFiles

from newsletter.config import Settings
from newsletter.render import template_environment
from newsletter.resources import templates_dir
from newsletter.tokens import Tokens
from newsletter.web import archive, links, signup, webhooks
from newsletter.web.context import WebContext
from newsletter.web.pages import Pages
from newsletter.web.security import Security

log = logging.getLogger("newsletter.web")


def create_app(settings: Settings, engine: Engine, **webhook_options: Any) -> Starlette:
    """The Starlette app over one database."""
    ctx = WebContext(
        settings,
        engine,
        Tokens(settings.require_secret_key()),
        Pages(settings, template_environment(settings)),
    )
    static = (
        settings.path(settings.newsletter.templates_dir) / "static"
        if settings.newsletter.templates_dir
        else None
    )
    if static is None or not static.is_dir():
        static = templates_dir() / "static"
    routes = [
        Route("/", lambda request: RedirectResponse("/archive", status_code=303)),
        Route("/u/{token}", links.unsubscribe_page(ctx), methods=["GET"]),
        Route("/u/{token}", links.unsubscribe(ctx), methods=["POST"]),
        Route("/r/{token}", links.resubscribe(ctx), methods=["POST"]),
        Route("/confirm/{token}", links.confirm_page(ctx), methods=["GET"]),
        Route("/confirm/{token}", links.confirm(ctx), methods=["POST"]),
        Route("/signup", signup.form(ctx), methods=["GET"]),
        Route("/signup", signup.submit(ctx), methods=["POST"]),
        Route("/archive", archive.listing(ctx)),
        Route("/archive/{slug}", archive.tip_page(ctx)),
        Route("/categories", archive.category_index(ctx)),
        Route("/category/{name:path}", archive.category(ctx)),
        Route("/feed.xml", archive.feed(ctx)),
        Route("/media/{path:path}", archive.media(ctx)),
        Route("/webhooks/{provider}", webhooks.endpoint(ctx, **webhook_options), methods=["POST"]),
        Route("/healthz", health(ctx)),
        Mount("/static", StaticFiles(directory=str(static)), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        if status == 405:
            return PlainTextResponse("Method not allowed", status_code=405)
        without_slash = _route_without_slash(routes, request)
        if without_slash is not None:
            return RedirectResponse(ctx.pages.absolute(without_slash), status_code=308)
        return ctx.pages.message("Page not found", "There is nothing at this address.", status=404)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("error serving %s %s", request.method, request.url.path)
        return PlainTextResponse(
            "Something went wrong on our side. Please try again later.", status_code=500
        )

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: not_found, 404: not_found, 500: server_error},
    )
    # Starlette's own trailing-slash redirect is built from the request's Host header (an open
    # redirect behind a proxy that passes Host on); ours is built from base_url.
    app.router.redirect_slashes = False
    app.add_middleware(Security)
    return app


def _route_without_slash(routes: list[BaseRoute], request: Request) -> str | None:
    """``archive?page=2`` for a GET of ``/archive/?page=2`` when ``/archive`` is a route."""
    path = request.url.path
    if request.method not in ("GET", "HEAD") or len(path) < 2 or not path.endswith("/"):
        return None
    stripped = path.rstrip("/")
    scope = {**request.scope, "path": stripped}
    if not any(route.matches(scope)[0] == Match.FULL for route in routes):
        return None
    query = request.url.query
    return stripped.lstrip("/") + (f"?{query}" if query else "")


def health(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        try:
            with ctx.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: the database is unreachable")
            return PlainTextResponse("database unreachable", status_code=503)
        return PlainTextResponse("ok")

    return endpoint
