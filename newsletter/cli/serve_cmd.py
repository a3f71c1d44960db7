"""``newsletter serve``: the web app alone."""

from __future__ import annotations

import click
import uvicorn

from newsletter.cli._app import State, pass_state, say
from newsletter.config import pass_to_children
from newsletter.web import create_app
from newsletter.web.workers import serve_workers


@click.command()
@click.option("--host", help="Address to listen on (default: [web] host).")
@click.option("--port", type=int, help="Port (default: [web] port).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes serving requests (about one per core).",
)
@pass_state
def serve(st: State, host: str | None, port: int | None, workers: int) -> None:
    """Serve unsubscribe, signup, webhooks and the archive (behind a proxy: set base_url).

    Example: newsletter serve --port 8000 --workers 2
    """
    st.settings.require_secret_key()
    engine = st.engine()  # a bad config or an old database is one clear line, before any worker
    host, port = host or st.settings.web.host, port or st.settings.web.port
    say(
        f"serving on http://{host}:{port} with {workers} worker{'s' if workers > 1 else ''} "
        f"(email links point at {st.settings.newsletter.base_url})"
    )
    if workers == 1:
        app = create_app(st.settings, engine)
        uvicorn.run(app, host=host, port=port, proxy_headers=True, server_header=False)
        return
    st.close()  # each worker opens its own engine
    pass_to_children(st.settings)
    serve_workers(host, port, workers)
