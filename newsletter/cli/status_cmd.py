"""``newsletter status``: what is queued, who is subscribed, where the data is."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape

from newsletter import db, subscribers, tips
from newsletter.cli._app import State, pass_state, print_json, say


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def status(st: State, as_json: bool) -> None:
    """Show the queue, the subscriber counts, and the database in use.

    Example: newsletter status --json
    """
    with st.session() as session:
        next_tip = tips.next_queued(session)
        report: dict[str, Any] = {
            "database": db.mask_url(st.engine().url),
            "config": str(st.settings.source) if st.settings.source else None,
            "provider": st.settings.provider.name,
            "queue_length": tips.queue_length(session),
            "next_tip": {"slug": next_tip.slug, "title": next_tip.title} if next_tip else None,
            "subscribers": subscribers.counts_by_status(session),
        }
    if as_json:
        print_json(report)
        return
    say(f"database:    {report['database']}")
    say(f"config:      {report['config'] or '(none: built-in defaults)'}")
    say(f"provider:    {report['provider']}")
    nxt = f" (next: {escape(next_tip.title)})" if next_tip else " (empty: add tips!)"
    say(f"queue:       {report['queue_length']} tips{nxt}")
    counts = report["subscribers"]
    say("subscribers: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
