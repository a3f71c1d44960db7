"""``newsletter run``: the weekly scheduler, in the foreground."""

from __future__ import annotations

import click

from newsletter.cli._app import State, pass_state
from newsletter.scheduler import WeeklyRunner


@click.command()
@click.option(
    "--catch-up",
    is_flag=True,
    help="Send this week's edition at start even if its slot passed long ago.",
)
@pass_state
def run(st: State, catch_up: bool) -> None:
    """Run the weekly schedule until stopped (SIGTERM or Ctrl-C finish the batch in flight).

    Sends every [schedule] day at [schedule] time in [schedule] timezone; at start, catches up
    a slot missed within catch_up_hours. Meant for systemd (see docs/newsletter.service).

    Example: newsletter run
    """
    st.settings.require_secret_key()
    WeeklyRunner(st.settings, st.engine(), catch_up=catch_up).start()
