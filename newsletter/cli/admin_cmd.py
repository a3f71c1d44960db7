"""``newsletter admin``: the accounts that may use the dashboard (``/admin``)."""

from __future__ import annotations

import sys
from datetime import datetime

import click
from rich.table import Table

from newsletter import admins
from newsletter.cli._app import State, out_console, pass_state, print_json, say
from newsletter.errors import InputError

stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)


def read_password(from_stdin: bool) -> str:
    """The new password: asked twice on a terminal, or the first line of stdin."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = click.prompt(
            "Password", hide_input=True, confirmation_prompt="Repeat it", err=True
        )
    else:
        raise InputError("no terminal to ask for a password on: pipe it in with --password-stdin")
    return admins.check_password(password)


@click.group()
def admin() -> None:
    """Accounts for the dashboard at <base_url>/admin."""


@admin.command("add")
@click.argument("email")
@stdin_option
@pass_state
def add(st: State, email: str, password_stdin: bool) -> None:
    """Create a dashboard account; asks for its password (at least 12 characters).

    Example: newsletter admin add you@example.com
    """
    password = read_password(password_stdin)
    with st.session() as session:
        user = admins.add(session, email, password)
        address = user.email
    say(f"added {address}: log in at {st.settings.newsletter.base_url.rstrip('/')}/admin/login")


@admin.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def list_(st: State, as_json: bool) -> None:
    """List the dashboard accounts.

    Example: newsletter admin list
    """
    with st.session() as session:
        rows = [
            {
                "email": u.email,
                "created_at": _when(u.created_at),
                "password_changed_at": _when(u.password_changed_at),
                "last_login_at": _when(u.last_login_at) if u.last_login_at else None,
            }
            for u in admins.all_accounts(session)
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        say("no dashboard accounts yet: `newsletter admin add you@example.com` makes one")
        return
    table = Table("email", "created (UTC)", "password changed", "last login")
    for r in rows:
        cells = (r["created_at"], r["password_changed_at"], r["last_login_at"])
        table.add_row(r["email"], *(c[:16].replace("T", " ") if c else "never" for c in cells))
    out_console.print(table)


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@admin.command("remove")
@click.argument("email")
@pass_state
def remove(st: State, email: str) -> None:
    """Delete a dashboard account; its sessions end at once.

    Example: newsletter admin remove old.colleague@example.com
    """
    with st.session() as session:
        user = admins.remove(session, email)
        address = user.email
    say(f"removed {address}")


@admin.command("reset-password")
@click.argument("email")
@stdin_option
@pass_state
def reset_password(st: State, email: str, password_stdin: bool) -> None:
    """Give an account a new password; every session it had ends.

    Example: newsletter admin reset-password you@example.com
    """
    with st.session() as session:
        admins.get(session, email)  # an unknown address is refused before asking
    password = read_password(password_stdin)
    with st.session() as session:
        user = admins.reset_password(session, email, password)
        address = user.email
    say(f"new password set for {address}; its earlier sessions are logged out")
