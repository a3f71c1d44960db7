"""``newsletter run``: the weekly scheduler, in the foreground (``--web``: with the web app)."""

from __future__ import annotations

import threading

import click
import uvicorn

from newsletter.cli._app import State, pass_state, say
from newsletter.scheduler import WeeklyRunner
from newsletter.web import create_app


@click.command()
@click.option(
    "--catch-up",
    is_flag=True,
    help="Send this week's edition at start even if its slot passed long ago.",
)
@click.option(
    "--web",
    is_flag=True,
    help="Also serve the web app from this process (one service for a small install).",
)
@pass_state
def run(st: State, catch_up: bool, web: bool) -> None:
    """Run the weekly schedule until stopped (SIGTERM or Ctrl-C finish the batch in flight).

    Sends every [schedule] day at [schedule] time in [schedule] timezone; at start, catches up
    a slot missed within catch_up_hours. Meant for systemd (see docs/newsletter.service).

    Example: newsletter run --web
    """
    st.settings.require_secret_key()
    engine = st.engine()
    server = None
    if web:
        config = uvicorn.Config(
            create_app(st.settings, engine),
            host=st.settings.web.host,
            port=st.settings.web.port,
            proxy_headers=True,
            server_header=False,
            log_level="warning",
        )
        server = uvicorn.Server(config)
        # In a thread uvicorn installs no signal handlers: the scheduler's own handle SIGTERM.
        threading.Thread(target=server.run, name="web", daemon=True).start()
        say(f"serving the web app on http://{st.settings.web.host}:{st.settings.web.port}")
    try:
        WeeklyRunner(st.settings, engine, catch_up=catch_up).start()
    finally:
        if server is not None:
            server.should_exit = True
