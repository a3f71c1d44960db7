"""``newsletter status``: what is queued, who is subscribed, where the data is."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import db, ledger, runners, subscribers, tips
from newsletter.cli._app import State, pass_state, print_json, say
from newsletter.models import Edition, Tip, utcnow
from newsletter.scheduler import next_run


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
            "next_send": next_run(st.settings.schedule, utcnow()).isoformat(timespec="minutes"),
            "runners": [
                {"id": r.id, "heartbeat_at": r.heartbeat_at.isoformat(timespec="seconds")}
                for r in runners.alive(session)
            ],
            "last_edition": _last_edition(session),
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
    alive = (
        ", ".join(r["id"] for r in report["runners"]) or "none (start one with `newsletter run`)"
    )
    say(f"next send:   {report['next_send']} ({st.settings.schedule.timezone})")
    say(f"runner:      {alive}")
    last = report["last_edition"]
    if last:
        c = last["counts"]
        outcome = f"{c['sent']} sent, {c['failed']} failed, {c['in_doubt']} in doubt"
        say(f"last:        {last['week']} {escape(last['title'])}: {outcome}")


def _last_edition(session: Session) -> dict[str, Any] | None:
    edition = session.scalars(select(Edition).order_by(Edition.week.desc()).limit(1)).first()
    if edition is None:
        return None
    tip = session.get(Tip, edition.tip_id)
    return {
        "week": edition.week,
        "title": tip.title if tip else "?",
        "status": edition.status,
        "counts": ledger.counts(session, edition.id),
    }
