"""``/metrics`` for Prometheus: off (404) unless ``[web] metrics_token`` is set, then only with
``Authorization: Bearer <token>``. The token is never logged."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from newsletter import metrics
from newsletter.web.context import WebContext

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def endpoint(ctx: WebContext) -> Any:
    """The route's endpoint."""

    async def scrape(request: Request) -> Response:
        token = ctx.settings.web.metrics_token
        if not token:
            return ctx.pages.message(
                "Page not found", "There is nothing at this address.", status=404
            )
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            value.strip().encode(), token.encode()
        ):
            return PlainTextResponse(
                "a bearer token is needed", 401, headers={"WWW-Authenticate": "Bearer"}
            )
        body = await run_in_threadpool(_exposition, ctx)
        return Response(body, media_type=CONTENT_TYPE)

    return scrape


def _exposition(ctx: WebContext) -> bytes:
    with ctx.session() as session:
        return metrics.exposition(session)
