"""``newsletter subscribers``: the list of people who get the newsletter."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from newsletter import imports, listfiles
from newsletter import subscribers as people
from newsletter.cli._app import State, err_console, out_console, pass_state, print_json, say, warn
from newsletter.cli.progress import progress_bar
from newsletter.errors import InputError
from newsletter.models import SUBSCRIBER_STATUSES
from newsletter.names import PersonName, split_name

SHOWN_REFUSALS = 20


@click.group()
def subscribers() -> None:
    """Add, import, list and manage subscribers."""


@subscribers.command("add")
@click.argument("email")
@click.option("--first-name", "-f", default="", help="First name (used in the greeting).")
@click.option("--last-name", "-l", default="", help="Last name.")
@click.option("--name", "-n", default="", help="A full name, split into first and last.")
@pass_state
def add(st: State, email: str, first_name: str, last_name: str, name: str) -> None:
    """Add one subscriber, active at once (they asked you in person).

    An address on the suppression list is refused (see `resubscribe`).

    Example: newsletter subscribers add ann@example.org --first-name Ann --last-name Lee
    """
    given = PersonName(first_name, last_name) if first_name or last_name else split_name(name)
    with st.session() as session:
        s = people.add(session, st.suppressions, email, name=given, via="cli")
        say(f"added {s.email}")


@subscribers.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--map",
    "mapping",
    default="",
    metavar="COLUMN=FIELD,…",
    help="Say which column holds which field, e.g. 'Email Address=email,Vorname=first_name' "
    "('Type=' ignores a column).",
)
@click.option(
    "--dry-run", is_flag=True, help="Show the mapping and what would happen; change nothing."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_state
def import_(st: State, file: Path, mapping: str, dry_run: bool, as_json: bool) -> None:
    """Import subscribers from a CSV file (Mailchimp, Substack, Buttondown, Kit, MailPoet,
    a spreadsheet, or our own export); bad rows are reported by line, the rest imported.

    Rows marked unsubscribed, cleaned or bounced are imported as such (and suppressed);
    addresses on the suppression list are never made active. Exit 1 if any row was refused
    (the good rows stay imported).

    Example: newsletter subscribers import subscribed_members_export.csv --dry-run
    """
    total = None if as_json else _count_rows(file)
    with st.session(rollback=dry_run) as session, progress_bar("importing", total) as advance:
        report = imports.import_file(
            session, st.suppressions, file, mapping=mapping, progress=advance
        )
    if as_json:
        print_json({"dry_run": dry_run, **report.as_dict()})
    else:
        _show_report(report, dry_run, file)
    if report.errors:
        raise SystemExit(1)


def _show_report(report: imports.ImportReport, dry_run: bool, file: Path) -> None:
    say(f"{'dry run: ' if dry_run else ''}the file looks like {report.kind}")
    say("columns: " + ", ".join(f"{escape(c)} → {f}" for c, f in report.mapping))
    if report.ignored_columns:
        say(f"ignored columns: {escape(', '.join(report.ignored_columns))}")
    for line, reason in report.skipped[:SHOWN_REFUSALS]:
        warn(f"{file}: line {line}: skipped: {reason}")
    for line, reason in report.errors[:SHOWN_REFUSALS]:
        err_console.print(f"[red]{escape(str(file))}: line {line}:[/red] {escape(reason)}")
    hidden = len(report.skipped) + len(report.errors) - 2 * SHOWN_REFUSALS
    if len(report.errors) > SHOWN_REFUSALS or len(report.skipped) > SHOWN_REFUSALS:
        warn(f"{max(hidden, 0)} more lines not shown (use --json for all)")
    o = report.outcomes
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(report.statuses.items()))
    say(
        f"{'would import' if dry_run else 'imported'} {o['added']} of {report.rows} rows"
        + (f" ({statuses})" if statuses else "")
        + f"; {o['already']} already subscribed, {o['opted_out']} opted out by the file, "
        f"{o['suppressed']} suppressed, {o['repeated']} repeated, {o['refused']} refused"
    )
    if dry_run:
        say("dry run: nothing was changed")


def _count_rows(file: Path) -> int | None:
    try:
        with file.open("rb") as fh:
            return max(sum(1 for _ in fh) - 1, 0)
    except OSError:
        return None  # the import reports the problem


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
            print_json([people.subscriber_record(s) for s in rows])
            return
        table = Table("email", "first name", "last name", "status", "since")
        count = 0
        for s in rows:
            table.add_row(
                s.email,
                escape(s.first_name),
                escape(s.last_name),
                s.status,
                s.created_at.date().isoformat(),
            )
            count += 1
        if count:
            out_console.print(table)
        say(f"{count} subscribers" + (f" ({status})" if status else ""))


@subscribers.command("show")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def show(st: State, email: str, as_json: bool) -> None:
    """One address's whole story: status, names, consent, every event and every delivery.

    Example: newsletter subscribers show ann@example.org
    """
    with st.session() as session:
        found = people.history(session, st.suppressions, email)
    if as_json:
        print_json(found)
        return
    s, held = found["subscriber"], found["suppressed"]
    if s is None:
        say(f"{found['email']}: not a subscriber")
    else:
        say(f"[bold]{found['email']}[/bold]  {s['status']}")
        say(f"name: {escape(' '.join(p for p in (s['first_name'], s['last_name']) if p) or '-')}")
        say(
            f"consent: source {s['source'] or '-'}, subscribed {s['subscribed_at'] or '-'}, "
            f"confirmed {s['confirmed_at'] or '-'}"
            + (f", {escape(s['consent'])}" if s["consent"] else "")
        )
        if s["unsubscribed_at"]:
            say(f"stopped: {s['unsubscribed_at']}")
    if held:
        say(f"suppressed: {held['reason']} on {held['at']} (via {held['via']})")
    if s is None:
        return
    events = Table("when", "event", "via", "detail", title="events")
    for e in found["events"]:
        events.add_row(e["at"], e["kind"], e["via"], escape(e["detail"]))
    out_console.print(events)
    deliveries = Table("edition", "status", "sent", "error", title="deliveries")
    for d in found["deliveries"]:
        deliveries.add_row(d["edition"], d["status"], d["sent_at"] or "", escape(d["error"]))
    out_console.print(deliveries)


@subscribers.command("remove")
@click.argument("email")
@click.option("--erase", is_flag=True, help="Also erase their history (GDPR erasure).")
@pass_state
def remove(st: State, email: str, erase: bool) -> None:
    """Delete a subscriber. To stop mail but remember the opt-out, use `unsubscribe` instead.

    With --erase the history goes too, and the address stays on the suppression list (as a
    keyed hash, not the address), so no later import brings it back.

    Example: newsletter subscribers remove ann@example.org --erase
    """
    with st.session() as session:
        s = people.get(session, email)
        address = s.email
        people.remove(session, st.suppressions, s, erase=erase)
    say(f"removed {address}" + (" and erased its history" if erase else ""))


@subscribers.command("unsubscribe")
@click.argument("email")
@pass_state
def unsubscribe(st: State, email: str) -> None:
    """Stop all mail to an address, as if they clicked the unsubscribe link.

    An address that is not a subscriber here goes on the suppression list, so it can never
    be added or imported by mistake.

    Example: newsletter subscribers unsubscribe ann@example.org
    """
    with st.session() as session:
        known = people.find(session, email) is not None
        address, changed = people.suppress_address(session, st.suppressions, email, via="cli")
    if not known:
        say(f"{address} is not a subscriber; it is on the suppression list now")
    else:
        say(f"unsubscribed {address}" if changed else f"{address} was already unsubscribed")


@subscribers.command("resubscribe")
@click.argument("email")
@click.option(
    "--reason", required=True, help="Why (kept in the log), e.g. 'asked by email on 3 May'."
)
@pass_state
def resubscribe(st: State, email: str, reason: str) -> None:
    """Make an address active again and take it off the suppression list, when they asked
    to come back. The only way an operator lifts a suppression; the reason is logged.

    Example: newsletter subscribers resubscribe ann@example.org --reason "asked by phone"
    """
    if not reason.strip():
        raise click.BadParameter("give a reason", param_hint="--reason")
    with st.session() as session:
        s, changed = people.resubscribe(
            session,
            st.suppressions,
            email,
            via="cli",
            reason=people.check_text(reason, "the reason"),
        )
        address = s.email
    say(f"resubscribed {address}" if changed else f"{address} is already active")


@subscribers.command("suppress")
@click.argument("target", metavar="EMAIL|FILE")
@click.option(
    "--reason",
    type=click.Choice(("unsubscribed", "bounced", "complained")),
    default="unsubscribed",
    show_default=True,
    help="Why these addresses must not be mailed.",
)
@pass_state
def suppress(st: State, target: str, reason: str) -> None:
    """Put addresses on the suppression list: old opt-outs from wherever the list was before,
    whether or not they were ever subscribers here. FILE: one address per line, or a CSV file
    with an email column.

    Example: newsletter subscribers suppress old-unsubscribes.csv
    """
    path = Path(target)
    addresses = _addresses(path) if "@" not in target and path.exists() else [(0, target)]
    added, refused = 0, 0
    with st.session() as session:
        for line, address in addresses:
            try:
                _, changed = people.suppress_address(
                    session, st.suppressions, address, reason=reason, via="cli"
                )
            except InputError as exc:
                if not line:
                    raise
                err_console.print(f"[red]line {line}:[/red] {escape(str(exc))}")
                refused += 1
                continue
            added += changed
    say(f"suppressed {added} of {len(addresses)} addresses ({reason}); {refused} refused")
    if refused:
        raise SystemExit(1)


def _addresses(path: Path) -> list[tuple[int, str]]:
    text = listfiles.decode(path)
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "@" in first and not any(d in first for d in ",;\t"):
        return [(i, line) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
    listing = listfiles.open_list(path)
    column = listing.columns["email"]
    return [(line, f[column] if column < len(f) else "") for line, f in listing.rows()]


@subscribers.command("export")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.option(
    "--spreadsheet",
    is_flag=True,
    help="For opening in a spreadsheet: cells starting with = + - @ are made text.",
)
@pass_state
def export(st: State, file: Path | None, spreadsheet: bool) -> None:
    """Export every subscriber, every field (status, dates, consent) as CSV: a backup that
    `import` restores exactly.

    Example: newsletter subscribers export backup.csv
    """
    with st.session() as session:
        if file is None:
            listfiles.export_csv(session, sys.stdout, spreadsheet=spreadsheet)
            return
        with file.open("w", encoding="utf-8", newline="") as out:
            count = listfiles.export_csv(session, out, spreadsheet=spreadsheet)
    say(f"exported {count} subscribers to {file}")
