"""``newsletter archive``: bring an old site's back issues into the archive."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from newsletter import backissues
from newsletter.cli._app import State, pass_state, say
from newsletter.cli.progress import progress_bar
from newsletter.htmlmd import DEFAULT_FOOTERS
from newsletter.weeks import human_date


@click.group()
def archive() -> None:
    """The public archive's back issues."""


@archive.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--footer",
    "footers",
    multiple=True,
    metavar="TEXT",
    help=f"Cut the block holding TEXT off each post (default: {DEFAULT_FOOTERS[0]!r}).",
)
@pass_state
def import_(st: State, file: Path, footers: tuple[str, ...]) -> None:
    """Import a WordPress export (WXR) or an RSS/Atom feed as archived tips.

    Each published post keeps its date, title, slug and categories; its HTML becomes Markdown.
    Archived tips are shown in the archive and the feed, never emailed. Posts already present
    (same slug) are skipped, so running it again adds nothing twice.

    Example: newsletter archive import wordpress-export.xml
    """
    report = backissues.ArchiveReport()
    posts = backissues.read_posts(file, report)
    with st.session() as session, progress_bar("importing", len(posts), log_every=200) as advance:
        backissues.import_posts(
            session, posts, report, footers=footers or DEFAULT_FOOTERS, advance=advance
        )
        dates = sorted(t.published_on for t in report.added if t.published_on)
    for line in report.skipped:
        say(f"skipped {escape(line)}")
    if report.ignored:
        left = ", ".join(f"{n} {kind}" for kind, n in sorted(report.ignored.items()))
        say(f"left out (not published posts): {left}")
    if report.already_present:
        say(f"{len(report.already_present)} already present")
    span = f", {human_date(dates[0])} to {human_date(dates[-1])}" if dates else ""
    say(f"{len(report.added)} back issues archived{span}")
