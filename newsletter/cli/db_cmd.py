"""``newsletter db``: the schema migrations."""

from __future__ import annotations

import click

from newsletter import db as database
from newsletter.cli._app import State, pass_state, say


@click.group()
def db() -> None:
    """Database migrations."""


@db.command()
@pass_state
def upgrade(st: State) -> None:
    """Bring the database up to this version's schema (creates it if missing).

    Example: newsletter db upgrade
    """
    engine = st.engine(check=False)
    before, after = database.upgrade(engine)
    where = database.mask_url(engine.url)
    if before == after:
        say(f"{where} is up to date (migration {after})")
    else:
        say(f"{where} upgraded from {before or 'empty'} to {after}")


@db.command()
@pass_state
def current(st: State) -> None:
    """Show which migration the database is at, and the newest one.

    Example: newsletter db current
    """
    engine = st.engine(check=False)
    have, head = database.current_revision(engine), database.head_revision()
    status = "up to date" if have == head else "behind: run `newsletter db upgrade`"
    say(f"{database.mask_url(engine.url)}: at {have or 'none'}, newest {head} ({status})")
