"""``newsletter calendar``: the coming weeks and the tip planned for each."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Column, Table

from newsletter import planning
from newsletter.cli._app import State, out_console, pass_state, print_json, warn
from newsletter.models import utcnow
from newsletter.weeks import human_date


@click.command()
@click.option(
    "--weeks",
    "count",
    type=click.IntRange(1, 520),
    default=8,
    show_default=True,
    help="How many weeks to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def calendar(st: State, count: int, as_json: bool) -> None:
    """Show the coming weeks: the send date, the tip planned (pinned ones marked), empty weeks.

    Warns when the queue runs dry within the weeks shown.

    Example: newsletter calendar --weeks 12
    """
    now = utcnow()
    with st.session() as session:
        slots = planning.weeks_ahead(session, st.settings, now, count)
        stale = planning.stale_pins(session, st.settings, now)
        rows = [
            {
                "week": str(s.week),
                "date": s.moment.date().isoformat(),
                "send_at": s.moment.isoformat(),
                "tip": s.tip.slug if s.tip else None,
                "title": s.tip.title if s.tip else None,
                "pinned": s.pinned,
            }
            for s in slots
        ]
        stale_notes = [
            f"'{t.slug}' was pinned to {t.pinned_week}, which passed without it; "
            "it is back in the queue at its place (pin it again or unpin it)"
            for t in stale
        ]
    dry = planning.dry_within(slots)
    if as_json:
        print_json(
            {
                "timezone": st.settings.schedule.timezone,
                "weeks": rows,
                "runs_dry_on": dry.moment.date().isoformat() if dry else None,
            }
        )
        return
    table = Table(Column("date", no_wrap=True), "week", "tip", "", title=f"The next {count} weeks")
    for s in slots:
        tip = escape(s.tip.title) if s.tip else "[dim]empty: nothing queued[/dim]"
        table.add_row(human_date(s.moment.date()), str(s.week), tip, "pinned" if s.pinned else "")
    out_console.print(table)
    for note in stale_notes:
        warn(note)
    if dry is not None:
        empty = sum(1 for s in slots if s.tip is None)
        warn(
            f"the queue runs dry: nothing for {human_date(dry.moment.date())} "
            f"({empty} of the next {count} weeks empty); add tips with `newsletter tips add`"
        )
