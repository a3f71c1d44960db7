"""``newsletter serve``: the web app alone."""

from __future__ import annotations

import click
import uvicorn

from newsletter.cli._app import State, pass_state, say
from newsletter.web import create_app


@click.command()
@click.option("--host", help="Address to listen on (default: [web] host).")
@click.option("--port", type=int, help="Port (default: [web] port).")
@pass_state
def serve(st: State, host: str | None, port: int | None) -> None:
    """Serve unsubscribe, signup, webhooks and the archive (behind a proxy: set base_url).

    Example: newsletter serve --port 8000
    """
    app = create_app(st.settings, st.engine())
    host, port = host or st.settings.web.host, port or st.settings.web.port
    say(f"serving on http://{host}:{port} (email links point at {st.settings.newsletter.base_url})")
    uvicorn.run(
        app, host=host, port=port, log_level="info", proxy_headers=True, server_header=False
    )
