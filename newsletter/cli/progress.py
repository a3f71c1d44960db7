"""Progress for long work: a Rich bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from newsletter.cli._app import err_console

log = logging.getLogger("newsletter")


@contextmanager
def progress_bar(
    label: str, total: int | None, *, log_every: int = 20_000
) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n)`` callback that drives a bar (terminal) or logs every ``log_every``."""
    if err_console.is_terminal:
        columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda n: bar.advance(task, n)
        return
    done = 0
    next_log = log_every

    def advance(n: int) -> None:
        nonlocal done, next_log
        done += n
        if done >= next_log:
            log.info("%s: %d of %s", label, done, total if total is not None else "?")
            next_log += log_every

    yield advance
