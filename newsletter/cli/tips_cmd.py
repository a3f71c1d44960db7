"""``newsletter tips``: the queue of tips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from newsletter import tips as queue
from newsletter.cli._app import State, out_console, pass_state, print_json, say, warn
from newsletter.models import Tip

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def tip_dict(tip: Tip, *, body: bool = False) -> dict[str, Any]:
    """A tip as JSON-friendly data."""
    data: dict[str, Any] = {
        "id": tip.id,
        "slug": tip.slug,
        "title": tip.title,
        "status": tip.status,
        "position": tip.position,
        "categories": tip.categories,
        "takeaway": tip.takeaway,
        "source_path": tip.source_path,
        "created_at": tip.created_at.isoformat(),
    }
    if body:
        data["body_md"] = tip.body_md
    return data


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
            say(f"queued #{tip.position}: {escape(tip.title)} ({tip.slug})")


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
            say(f"queued #{tip.position}: {escape(tip.title)} ({tip.slug})")
    if report.already_present:
        say(f"{len(report.already_present)} already present: {', '.join(report.already_present)}")
    say(f"{len(report.added)} tips queued")


@tips.command("list")
@click.option("--all", "all_", is_flag=True, help="Also list sent and skipped tips.")
@json_option
@pass_state
def list_(st: State, all_: bool, as_json: bool) -> None:
    """List the queue in sending order.

    Example: newsletter tips list --all
    """
    with st.session() as session:
        rows = queue.list_tips(session, include_all=all_)
        if as_json:
            print_json([tip_dict(t) for t in rows])
            return
        if not rows:
            say("the queue is empty: add tips with `newsletter tips add FILE`")
            return
        table = Table("#", "id", "slug", "title", "categories", "status")
        for t in rows:
            table.add_row(
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
        if as_json:
            print_json(tip_dict(tip, body=True))
            return
        where = f"#{tip.position} in the queue" if tip.position else tip.status
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
