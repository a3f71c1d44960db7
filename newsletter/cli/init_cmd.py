"""``newsletter init``: set up a working folder."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from newsletter.cli._app import say
from newsletter.init import init_project


@click.command()
@click.argument("directory", type=click.Path(path_type=Path), default=".")
@click.option(
    "--demo",
    is_flag=True,
    help="Also add three sample subscribers and a placeholder postal address.",
)
def init(directory: Path, demo: bool) -> None:
    """Write config.toml, create the database and queue one sample tip in DIRECTORY.

    Example: newsletter init my-newsletter
    """
    result = init_project(directory, demo=demo)
    say(f"wrote {result.config}")
    say(f"created {result.database}")
    say(f"queued the sample tip: {escape(result.tip_title)}")
    if result.subscribers_added:
        say(f"added {result.subscribers_added} sample subscribers")
    say(f"next: cd {escape(str(directory))}, edit config.toml, then `newsletter status`")
