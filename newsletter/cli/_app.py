"""The root of the command tree: shared state, error presentation, output helpers."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from newsletter import db
from newsletter.config import Settings, load_settings
from newsletter.errors import NewsletterError
from newsletter.suppression import SuppressionList

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)


class UserError(click.ClickException):
    """A ``NewsletterError`` as the CLI shows it: red, one line per problem, exit 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        for line in self.message.splitlines():
            err_console.print(f"[red]error:[/red] {escape(line)}")


class NewsletterGroup(click.Group):
    """Turns every foreseeable failure below it into a ``UserError``: a ``NewsletterError``,
    or the database lost or locked anywhere a command did not expect it.

    Commands are imported when used (``lazy``: name -> "module:attribute"): `newsletter send`
    does not pay for the web app, the archive importer or the scheduler.
    """

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, _, attribute = self.lazy[name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NewsletterError as exc:
            raise UserError(str(exc)) from None
        except (OperationalError, InterfaceError) as exc:
            raise UserError(f"the database failed: {db.reason(exc)}") from None


@dataclass
class State:
    """What every command may need, built on first use."""

    config_path: str | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    def engine(self, *, check: bool = True) -> Engine:
        """The database engine; by default refuses a database behind the migrations."""
        if self._engine is None:
            url = db.resolve_url(self.settings.database.url, self.settings.base_dir)
            self._engine = db.make_engine(url)
        if check:
            db.check_current(self._engine)
        return self._engine

    def close(self) -> None:
        """Release the database connections (the command is over)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def suppressions(self) -> SuppressionList:
        """The suppression list, keyed from the environment's signing keys."""
        return SuppressionList.from_settings(self.settings)

    @contextmanager
    def session(self, *, rollback: bool = False) -> Iterator[Session]:
        """One transaction on the checked database (``rollback``: a dry run, nothing kept)."""
        factory = sessionmaker(self.engine(), expire_on_commit=False)
        if not rollback:
            with db.transaction(factory) as session:
                yield session
            return
        with factory() as session:
            try:
                yield session
            finally:
                session.rollback()


pass_state = click.make_pass_decorator(State, ensure=True)


def print_json(document: Any) -> None:
    """One JSON document on stdout and nothing else."""
    sys.stdout.write(json.dumps(document, indent=2, default=str, ensure_ascii=False) + "\n")


def say(message: str) -> None:
    """A line of normal output (Rich markup allowed)."""
    out_console.print(message)


def warn(message: str) -> None:
    """A warning on stderr."""
    err_console.print(f"[yellow]warning:[/yellow] {escape(message)}")
