"""``newsletter subscribers``: the list of people who get the newsletter."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from newsletter import subscribers as people
from newsletter.cli._app import State, err_console, out_console, pass_state, print_json, say, warn
from newsletter.cli.progress import progress_bar
from newsletter.models import SUBSCRIBER_STATUSES, Subscriber


@click.group()
def subscribers() -> None:
    """Add, import, list and manage subscribers."""


def subscriber_dict(s: Subscriber) -> dict[str, Any]:
    """A subscriber as JSON-friendly data."""
    return {
        "id": s.id,
        "email": s.email,
        "name": s.name,
        "status": s.status,
        "source": s.source,
        "created_at": s.created_at.isoformat(),
        "confirmed_at": s.confirmed_at.isoformat() if s.confirmed_at else None,
        "unsubscribed_at": s.unsubscribed_at.isoformat() if s.unsubscribed_at else None,
    }


@subscribers.command("add")
@click.argument("email")
@click.option("--name", "-n", default="", help="The name used in the greeting.")
@pass_state
def add(st: State, email: str, name: str) -> None:
    """Add one subscriber, active at once (they asked you in person).

    Example: newsletter subscribers add ann@example.org --name Ann
    """
    with st.session() as session:
        s = people.add(session, email, name=name, via="cli")
        say(f"added {s.email}")


@subscribers.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@pass_state
def import_(st: State, file: Path) -> None:
    """Import subscribers from a CSV file; bad rows are reported by line, the rest imported.

    Exit 1 if any row was refused (the good rows stay imported).

    Example: newsletter subscribers import list.csv
    """
    total = _count_rows(file)
    with st.session() as session, progress_bar("importing", total) as advance:
        report = people.import_csv(session, file, progress=advance)
    if report.ignored_columns:
        say(f"note: ignored columns: {', '.join(report.ignored_columns)}")
    for line, reason in report.skipped:
        warn(f"line {line}: skipped: {reason}")
    for line, reason in report.errors:
        err_console.print(f"[red]line {line}:[/red] {escape(reason)}")
    say(
        f"imported {report.added} of {report.rows} rows; {report.already_subscribed} already "
        f"subscribed, {len(report.skipped)} skipped, {len(report.errors)} refused"
    )
    if report.errors:
        raise SystemExit(1)


def _count_rows(file: Path) -> int | None:
    try:
        with file.open("rb") as fh:
            return max(sum(1 for _ in fh) - 1, 0)
    except OSError:
        return None  # import_csv reports the problem


@subscribers.command("list")
@click.option("--status", "-s", type=click.Choice(SUBSCRIBER_STATUSES), help="Only this status.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def list_(st: State, status: str | None, as_json: bool) -> None:
    """List subscribers, oldest first.

    Example: newsletter subscribers list --status unsubscribed
    """
    with st.session() as session:
        rows = people.iter_subscribers(session, status)
        if as_json:
            print_json([subscriber_dict(s) for s in rows])
            return
        table = Table("email", "name", "status", "since")
        count = 0
        for s in rows:
            table.add_row(s.email, escape(s.name), s.status, s.created_at.date().isoformat())
            count += 1
        if count:
            out_console.print(table)
        say(f"{count} subscribers" + (f" ({status})" if status else ""))


@subscribers.command("remove")
@click.argument("email")
@click.option("--erase", is_flag=True, help="Also erase their history (GDPR erasure).")
@pass_state
def remove(st: State, email: str, erase: bool) -> None:
    """Delete a subscriber. To stop mail but remember the opt-out, use `unsubscribe` instead.

    Example: newsletter subscribers remove ann@example.org --erase
    """
    with st.session() as session:
        s = people.get(session, email)
        address = s.email
        people.remove(session, s, erase=erase)
    say(f"removed {address}" + (" and erased its history" if erase else ""))


@subscribers.command("unsubscribe")
@click.argument("email")
@pass_state
def unsubscribe(st: State, email: str) -> None:
    """Stop all mail to an address, as if they clicked the unsubscribe link.

    Example: newsletter subscribers unsubscribe ann@example.org
    """
    with st.session() as session:
        s = people.get(session, email)
        changed = people.unsubscribe(session, s, via="cli")
    say(f"unsubscribed {s.email}" if changed else f"{s.email} was already unsubscribed")


@subscribers.command("resubscribe")
@click.argument("email")
@pass_state
def resubscribe(st: State, email: str) -> None:
    """Make an unsubscribed (or bounced) address active again, when they asked to come back.

    Example: newsletter subscribers resubscribe ann@example.org
    """
    with st.session() as session:
        s = people.get(session, email)
        changed = people.resubscribe(session, s, via="cli")
    say(f"resubscribed {s.email}" if changed else f"{s.email} is already active")


@subscribers.command("export")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@pass_state
def export(st: State, file: Path | None) -> None:
    """Export every subscriber with status and dates as CSV.

    Example: newsletter subscribers export backup.csv
    """
    with st.session() as session:
        if file is None:
            people.export_csv(session, sys.stdout)
            return
        with file.open("w", encoding="utf-8", newline="") as out:
            count = people.export_csv(session, out)
    say(f"exported {count} subscribers to {file}")
