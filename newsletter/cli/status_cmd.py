"""``newsletter status``: the queue, the subscribers, the runner, and anything unfinished."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import db, health, ledger, planning, runners, subscribers, tips
from newsletter.cli._app import State, err_console, pass_state, print_json, say
from newsletter.models import Edition, Tip, utcnow
from newsletter.scheduler import next_run

EXIT_UNHEALTHY = 1


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 when the runner's heartbeat is stale, an edition is unfinished past its slot, "
    "or the queue is empty (for monitors and systemd).",
)
@pass_state
def status(st: State, as_json: bool, check: bool) -> None:
    """Show the queue, the subscriber counts, the runner, and unfinished editions.

    With --check, exit 0 only when all is well (one line per problem on stderr otherwise).

    Example: newsletter status --check
    """
    now = utcnow()
    with st.session() as session:
        slot = planning.next_up(session, st.settings, now)
        next_tip = slot.tip if slot else None
        report: dict[str, Any] = {
            "database": db.mask_url(st.engine().url),
            "config": str(st.settings.source) if st.settings.source else None,
            "provider": st.settings.provider.name,
            "queue_length": tips.queue_length(session),
            "next_tip": {"slug": next_tip.slug, "title": next_tip.title} if next_tip else None,
            "subscribers": subscribers.counts_by_status(session),
            "next_send": next_run(st.settings.schedule, now).isoformat(timespec="minutes"),
            "runners": [
                {
                    "id": r.id,
                    "host": r.host,
                    "pid": r.pid,
                    "heartbeat_at": r.heartbeat_at.isoformat(timespec="seconds"),
                }
                for r in runners.alive(session, "scheduler", health.RUNNER_STALE)
            ],
            "unfinished": [u.as_dict() for u in health.unfinished(session, st.settings, now)],
            "checks": [c.__dict__ for c in health.checks(session, st.settings, now)],
            "last_edition": _last_edition(session),
        }
    problems = [c for c in report["checks"] if not c["ok"]]
    if as_json:
        print_json(report)
    else:
        _show(st, report, next_tip)
    if check:
        for c in problems:
            err_console.print(f"[red]unhealthy:[/red] {c['name']}: {escape(c['detail'])}")
        if problems:
            raise SystemExit(EXIT_UNHEALTHY)


def _show(st: State, report: dict[str, Any], next_tip: Tip | None) -> None:
    say(f"database:    {report['database']}")
    say(f"config:      {report['config'] or '(none: built-in defaults)'}")
    say(f"provider:    {report['provider']}")
    nxt = f" (next: {escape(next_tip.title)})" if next_tip else " (empty: add tips!)"
    say(f"queue:       {report['queue_length']} tips{nxt}")
    counts = report["subscribers"]
    say("subscribers: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    say(f"next send:   {report['next_send']} ({st.settings.schedule.timezone})")
    runner = next(c for c in report["checks"] if c["name"] == "runner")
    say(f"runner:      {escape(runner['detail'])}")
    last = report["last_edition"]
    if last:
        c = last["counts"]
        outcome = f"{c['sent']} sent, {c['failed']} failed, {c['in_doubt']} in doubt"
        state = "" if last["status"] != "sending" else " (unfinished)"
        say(f"last:        {last['week']} {escape(last['title'])}: {outcome}{state}")
    for u in report["unfinished"]:
        c = u["counts"]
        say(
            f"unfinished:  {u['week']} {escape(u['title'])}: "
            + ", ".join(f"{n} {s}" for s, n in c.items() if n)
        )
        for h in u["holders"]:
            state = "alive" if h["alive"] else "stopped: the next send takes them over"
            say(f"             {h['rows']} claimed by {escape(h['who'])} ({state})")
        if u["error"]:
            say(f"             last error: {escape(u['error'])}")


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
