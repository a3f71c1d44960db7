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
    help="Queue the sample tip, add three sample subscribers and a placeholder postal address.",
)
def init(directory: Path, demo: bool) -> None:
    """Write config.toml, create the database and write a sample tip file in DIRECTORY.

    The queue starts empty (with --demo the sample is queued, ready for a first send).

    Example: newsletter init my-newsletter
    """
    result = init_project(directory, demo=demo)
    say(f"wrote {result.config}")
    say(f"created {result.database}")
    if result.queued:
        say(f"queued the sample tip: {escape(result.tip_title)}")
    else:
        sample = result.sample.relative_to(directory)
        say(
            f"wrote a sample tip, {escape(str(sample))} (not queued): queue your own with "
            f"`newsletter tips add FILE`, or this one with `newsletter tips add {sample}`"
        )
    if result.subscribers_added:
        say(f"added {result.subscribers_added} sample subscribers")
    say(
        f"next: cd {escape(str(directory))}, edit config.toml (postal_address, site_url for the "
        "footer's home page link), then `newsletter status`"
    )
