"""``newsletter tips``: the queue of tips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Column, Table

from newsletter import planning, tipedits
from newsletter import tips as queue
from newsletter.cli._app import State, out_console, pass_state, print_json, say, warn
from newsletter.models import Tip, utcnow
from newsletter.planning import Slot
from newsletter.weeks import human_date, human_moment

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def tip_dict(tip: Tip, slot: Slot | None = None, *, body: bool = False) -> dict[str, Any]:
    """A tip as JSON-friendly data; ``slot`` is a queued tip's planned week."""
    data: dict[str, Any] = {
        "id": tip.id,
        "slug": tip.slug,
        "title": tip.title,
        "status": tip.status,
        "position": tip.position,
        "planned_week": str(slot.week) if slot else None,
        "planned_at": slot.moment.isoformat() if slot else None,
        "pinned_week": tip.pinned_week,
        "date": tip.published_on.isoformat() if tip.published_on else None,
        "categories": tip.categories,
        "takeaway": tip.takeaway,
        "source_path": tip.source_path,
        "created_at": tip.created_at.isoformat(),
    }
    if body:
        data["body_md"] = tip.body_md
    return data


def when(tip: Tip, slot: Slot | None) -> str:
    """The date a person sees for a tip: planned, or the day it appeared."""
    if slot is not None:
        return human_date(slot.moment.date()) + (" (pinned)" if slot.pinned else "")
    return human_date(tip.published_on) if tip.published_on else ""


def added(tip: Tip) -> str:
    """The line for a tip just added."""
    if tip.status == "archived" and tip.published_on:
        return f"archived: {escape(tip.title)} ({tip.slug}), {human_date(tip.published_on)}"
    return f"queued #{tip.position}: {escape(tip.title)} ({tip.slug})"


@click.group()
def tips() -> None:
    """Queue and manage tips."""


@tips.command("add")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_state
def add(st: State, files: tuple[Path, ...]) -> None:
    """Queue tip files (Markdown with front matter) at the end of the queue: all or none.

    Example: newsletter tips add tips/empathy.md tips/supervisor.md
    """
    with st.session() as session:
        for tip in queue.add_tips(session, files):
            say(added(tip))


@tips.command("import")
@click.argument("directory", type=click.Path(path_type=Path))
@pass_state
def import_(st: State, directory: Path) -> None:
    """Queue every .md file in DIRECTORY, by file name; tips already present are left alone.

    Example: newsletter tips import tips/
    """
    with st.session() as session:
        report = queue.import_dir(session, directory)
        for tip in report.added:
            say(added(tip))
    if report.already_present:
        say(f"{len(report.already_present)} already present: {', '.join(report.already_present)}")
    say(f"{len(report.added)} tips queued")


@tips.command("list")
@click.option("--all", "all_", is_flag=True, help="Also list skipped, sent and archived tips.")
@json_option
@pass_state
def list_(st: State, all_: bool, as_json: bool) -> None:
    """List the queue in sending order, with the date each tip goes out.

    Dates are in [schedule] timezone; a pinned tip keeps its week and the queue flows around it.

    Example: newsletter tips list --all
    """
    with st.session() as session:
        rows = queue.list_tips(session, include_all=all_)
        slots = planning.planned(session, st.settings, utcnow())
        queued = sorted((t for t in rows if t.id in slots), key=lambda t: slots[t.id].week)
        rows = queued + [t for t in rows if t.id not in slots]
        if as_json:
            print_json([tip_dict(t, slots.get(t.id)) for t in rows])
            return
        if not rows:
            say("the queue is empty: add tips with `newsletter tips add FILE`")
            return
        table = Table("#", "id", "slug", "title", "categories", "status")
        table.columns.insert(0, Column("date", no_wrap=True))
        for t in rows:
            table.add_row(
                when(t, slots.get(t.id)),
                str(t.position or "-"),
                str(t.id),
                t.slug,
                escape(t.title),
                ", ".join(t.categories),
                t.status,
            )
        out_console.print(table)


@tips.command("show")
@click.argument("ref")
@json_option
@pass_state
def show(st: State, ref: str, as_json: bool) -> None:
    """Show one tip, by id or slug, with its body.

    Example: newsletter tips show identify-your-point-of-empathy
    """
    with st.session() as session:
        tip = queue.get_tip(session, ref)
        slot = planning.planned(session, st.settings, utcnow()).get(tip.id)
        if as_json:
            print_json(tip_dict(tip, slot, body=True))
            return
        where = f"#{tip.position} in the queue" if tip.position else tip.status
        if slot is not None:
            pinned = ", pinned" if slot.pinned else ""
            where += f", goes out {human_moment(slot.moment)}{pinned}"
        elif tip.published_on:
            where += f", {human_date(tip.published_on)}"
        say(f"[bold]{escape(tip.title)}[/bold]  ({tip.slug}, id {tip.id}, {where})")
        if tip.categories:
            say(f"categories: {', '.join(tip.categories)}")
        if tip.takeaway:
            say(f"takeaway: {escape(tip.takeaway)}")
        say("")
        out_console.print(tip.body_md, markup=False)


@tips.command("move")
@click.argument("ref")
@click.option("--to", "to", type=int, required=True, help="New position; 1 goes out next.")
@pass_state
def move(st: State, ref: str, to: int) -> None:
    """Move a queued tip (id or slug) to another place in the queue.

    Example: newsletter tips move when-they-want-the-supervisor --to 1
    """
    with st.session() as session:
        tip = queue.move_tip(session, ref, to)
        say(f"{escape(tip.title)} is now #{tip.position}")


@tips.command("skip")
@click.argument("ref")
@pass_state
def skip(st: State, ref: str) -> None:
    """Take a tip (id or slug) out of the queue without sending it; it stays on record.

    Example: newsletter tips skip 2025-holiday-poem
    """
    with st.session() as session:
        tip = queue.skip_tip(session, ref)
        say(f"skipped {escape(tip.title)}")


@tips.command("unskip")
@click.argument("ref")
@pass_state
def unskip(st: State, ref: str) -> None:
    """Put a skipped tip (id or slug) back in the queue, at the end.

    Example: newsletter tips unskip 2025-holiday-poem
    """
    with st.session() as session:
        tip = queue.unskip_tip(session, ref)
        slot = planning.planned(session, st.settings, utcnow())[tip.id]
        say(
            f"{escape(tip.title)} is back in the queue at #{tip.position}: "
            f"it goes out {human_moment(slot.moment)} (move it with `newsletter tips move`)"
        )


@tips.command("pin")
@click.argument("ref")
@click.option("--on", "on", required=True, metavar="DATE", help="A date (YYYY-MM-DD) in the week.")
@pass_state
def pin(st: State, ref: str, on: str) -> None:
    """Pin a queued tip (id or slug) to the week of DATE; the rest of the queue flows around it.

    Example: newsletter tips pin 2026-holiday-poem --on 2026-12-22
    """
    day = planning.parse_day(on)
    with st.session() as session:
        slot = planning.pin(session, st.settings, ref, day, utcnow())
        assert slot.tip is not None
        say(
            f"pinned {escape(slot.tip.title)} to the week of {human_date(day)}: it goes out "
            f"{human_moment(slot.moment)} ({st.settings.schedule.timezone})"
        )


@tips.command("unpin")
@click.argument("ref")
@pass_state
def unpin(st: State, ref: str) -> None:
    """Let a pinned tip (id or slug) flow with the queue again, at its place in it.

    Example: newsletter tips unpin 2026-holiday-poem
    """
    with st.session() as session:
        tip = planning.unpin(session, ref)
        slot = planning.planned(session, st.settings, utcnow()).get(tip.id)
        later = f": it now goes out {human_moment(slot.moment)}" if slot else ""
        say(f"unpinned {escape(tip.title)}{later}")


@tips.command("update")
@click.argument("ref")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option(
    "--archive-only",
    is_flag=True,
    help="For a sent tip: correct its archive page (the email that went out never changes).",
)
@pass_state
def update(st: State, ref: str, file: Path | None, archive_only: bool) -> None:
    """Re-read a tip (id or slug) from its file, or from FILE, and say what changed.

    Example: newsletter tips update when-they-want-the-supervisor
    """
    with st.session() as session:
        change = tipedits.update(session, ref, file, archive_only=archive_only)
        say(describe(change))
        if change.sent_week and change.changes:
            say(f"the archive page changed; the email of {change.sent_week} stays as it was sent")


@tips.command("sync")
@pass_state
def sync(st: State) -> None:
    """Re-read every queued tip from its file; say what changed (all or nothing).

    Example: newsletter tips sync
    """
    with st.session() as session:
        report = tipedits.sync(session)
        for change in report.changed:
            say(describe(change))
    for line in report.missing:
        warn(f"no source file to sync from: {line}")
    say(f"{len(report.changed)} updated, {report.unchanged} unchanged")


def describe(change: tipedits.Change) -> str:
    """One line: the tip and what changed."""
    what = "; ".join(change.changes) or "nothing changed"
    return f"{escape(change.tip.title)} ({change.tip.slug}): {escape(what)}"


@tips.command("remove")
@click.argument("ref")
@pass_state
def remove(st: State, ref: str) -> None:
    """Delete a tip (id or slug) that has not been sent.

    Example: newsletter tips remove 7
    """
    with st.session() as session:
        tip = queue.remove_tip(session, ref)
        say(f"removed {escape(tip.title)}")
        if queue.queue_length(session) == 0:
            warn("the queue is now empty")
