"""The web app: the links in the emails, signup, provider webhooks, the public archive, and
the operator's dashboard (``/admin``, ``/metrics``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.staticfiles import StaticFiles

from newsletter import db, health, memory
from newsletter.config import Settings
from newsletter.mailqueue import MailSender
from newsletter.models import utcnow
from newsletter.render import template_environment
from newsletter.resources import templates_dir
from newsletter.suppression import SuppressionList
from newsletter.tokens import Tokens
from newsletter.web import archive, links, signup, webhooks
from newsletter.web.admin import Dashboard
from newsletter.web.context import WebContext
from newsletter.web.pages import Pages
from newsletter.web.security import Security

log = logging.getLogger("newsletter.web")


def create_app(settings: Settings, engine: Engine, **webhook_options: Any) -> Starlette:
    """The Starlette app over one database."""
    tokens = Tokens(settings.require_secret_key())
    ctx = WebContext(
        settings,
        engine,
        tokens,
        Pages(settings, template_environment(settings)),
        SuppressionList.from_settings(settings),
        MailSender(settings, engine, tokens),
    )
    static = (
        settings.path(settings.newsletter.templates_dir) / "static"
        if settings.newsletter.templates_dir
        else None
    )
    if static is None or not static.is_dir():
        static = templates_dir() / "static"
    dashboard = Dashboard(ctx)
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
        Route("/healthz", healthz(ctx)),
        *dashboard.routes(),
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

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The transactional-mail sender lives as long as the app: started with it, and
        # stopped (finishing the email in flight) when the server shuts down.
        ctx.mailer.start()
        # What exists at start (modules, templates, the engine) lives as long as the process.
        with memory.frozen():
            try:
                yield
            finally:
                dashboard.close()
                ctx.mailer.stop()

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: not_found, 404: not_found, 500: server_error},
        lifespan=lifespan,
    )
    app.state.context = ctx
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


def healthz(ctx: WebContext) -> Any:
    """``/healthz``: 200 while this web process can reach the database. ``?deep=1`` adds the
    checks of ``newsletter status --check`` as JSON (503 when any fails)."""

    def endpoint(request: Request) -> Response:
        try:
            with ctx.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            log.error("health check: the database is unreachable: %s", db.reason(exc))
            return PlainTextResponse("database unreachable", status_code=503)
        if request.query_params.get("deep") not in ("1", "true", "yes"):
            return PlainTextResponse("ok")
        with ctx.session() as session:
            checks = health.checks(session, ctx.settings, utcnow())
        ok = all(c.ok for c in checks)
        document = {"ok": ok, "checks": [c.__dict__ for c in checks]}
        return JSONResponse(document, status_code=200 if ok else 503)

    return endpoint
