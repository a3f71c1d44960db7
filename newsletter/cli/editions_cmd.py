"""``newsletter editions``: what went out, week by week."""

from __future__ import annotations

from datetime import date
from typing import Any

import click
from rich.markup import escape
from rich.table import Column, Table
from sqlalchemy import select

from newsletter import editions as editions_lib
from newsletter import ledger, reports
from newsletter.cli._app import State, out_console, pass_state, print_json, say
from newsletter.config import ScheduleSection
from newsletter.models import Edition, Tip
from newsletter.weeks import human_date, local_date


def edition_dict(
    edition: Edition,
    tip: Tip | None,
    counts: dict[str, int],
    schedule: ScheduleSection | None = None,
) -> dict[str, Any]:
    """An edition as JSON-friendly data; ``date`` is the day it went out in ``schedule``'s zone."""
    seconds = (
        (edition.finished_at - edition.created_at).total_seconds() if edition.finished_at else None
    )
    sent_at = edition.sent_at or edition.created_at
    return {
        "week": edition.week,
        "date": local_date(schedule or ScheduleSection(), sent_at).isoformat(),
        "sent_at": sent_at.isoformat(),
        "tip": tip.slug if tip else None,
        "title": tip.title if tip else None,
        "subject": edition.subject,
        "status": edition.status,
        "recipients": edition.recipients,
        "counts": counts,
        "started_at": edition.created_at.isoformat(),
        "finished_at": edition.finished_at.isoformat() if edition.finished_at else None,
        "duration_seconds": seconds,
        "rate_per_second": round(counts["sent"] / seconds, 1) if seconds else None,
    }


@click.group()
def editions() -> None:
    """Editions sent, and how each went."""


@editions.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def list_(st: State, as_json: bool) -> None:
    """List editions, newest first.

    Example: newsletter editions list
    """
    with st.session() as session:
        rows = [
            edition_dict(
                e, session.get(Tip, e.tip_id), ledger.counts(session, e.id), st.settings.schedule
            )
            for e in session.scalars(select(Edition).order_by(Edition.week.desc()))
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        say("no editions yet: `newsletter send` starts this week's")
        return
    table = Table("week", "title", "status", "sent", "failed", "in doubt", "skipped", "pending")
    table.columns.insert(0, Column("date", no_wrap=True))
    for r in rows:
        c = r["counts"]
        table.add_row(
            human_date(date.fromisoformat(r["date"])),
            r["week"],
            escape(r["title"] or ""),
            r["status"],
            str(c["sent"]),
            str(c["failed"]),
            str(c["in_doubt"]),
            str(c["skipped"]),
            str(c["pending"] + c["claimed"]),
        )
    out_console.print(table)


@editions.command("show")
@click.argument("week")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def show(st: State, week: str, as_json: bool) -> None:
    """Show one edition: counts by status, timing, and failed or in-doubt deliveries.

    Example: newsletter editions show 2026-W48
    """
    with st.session() as session:
        edition = editions_lib.get(session, week)
        data = edition_dict(
            edition,
            session.get(Tip, edition.tip_id),
            ledger.counts(session, edition.id),
            st.settings.schedule,
        )
        data["problems"] = [
            {"email": email, "status": status, "reason": reason}
            for email, status, reason in ledger.failures(session, edition.id, limit=1000)
        ]
        data["workers"] = [
            {
                "run": r.run_id,
                "who": r.who,
                "sent": r.counts["sent"],
                "failed": r.counts["failed"],
                "in_doubt": r.counts["in_doubt"],
                "first_sent_at": r.first_sent_at.isoformat() if r.first_sent_at else None,
                "last_sent_at": r.last_sent_at.isoformat() if r.last_sent_at else None,
                "rate_per_second": round(r.rate, 1) if r.rate else None,
            }
            for r in reports.detail(session, edition).runs
        ]
    if as_json:
        print_json(data)
        return
    c = data["counts"]
    day = human_date(date.fromisoformat(data["date"]))
    say(f"[bold]{data['week']}[/bold], {day}: {escape(data['title'] or '')} ({data['status']})")
    say(f"subject:    {escape(data['subject'])}")
    say(f"recipients: {data['recipients']}")
    say("deliveries: " + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in c.items()))
    say(f"started:    {data['started_at']}")
    if data["finished_at"]:
        took = f"{data['duration_seconds']:.1f} s, {data['rate_per_second']}/s"
        say(f"finished:   {data['finished_at']} ({took})")
    if len(data["workers"]) > 1:
        say("senders:")
        for w in data["workers"]:
            rate = f", {w['rate_per_second']}/s" if w["rate_per_second"] else ""
            say(f"  {escape(w['who'])}: {w['sent']} sent{rate}")
    for problem in data["problems"]:
        say(f"  {problem['status']}: {problem['email']}: {escape(problem['reason'])}")
