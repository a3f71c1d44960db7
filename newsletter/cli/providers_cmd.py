"""``newsletter providers``: is the email provider set up right?"""

from __future__ import annotations

import click

from newsletter.cli._app import State, pass_state, say
from newsletter.providers.registry import check_provider


@click.group()
def providers() -> None:
    """The email provider."""


@providers.command("check")
@pass_state
def check(st: State) -> None:
    """Make the cheapest authenticated call the provider offers: do the key and sender work?

    Example: newsletter providers check
    """
    say(f"{st.settings.provider.name}: {check_provider(st.settings)}")
