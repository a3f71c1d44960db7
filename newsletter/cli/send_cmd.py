"""``newsletter send``: send this week's edition now (or continue it)."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from newsletter import preflight, sending, testsend
from newsletter.cli._app import State, err_console, pass_state, say, warn
from newsletter.cli.progress import log
from newsletter.editions import plan, week_needs_confirmation
from newsletter.errors import InputError
from newsletter.models import utcnow
from newsletter.weeks import IsoWeek, current_week

EXIT_TROUBLED = 3
EXIT_UNFINISHED = 4


@click.command()
@click.option("--dry-run", is_flag=True, help="Show what would be sent; change nothing.")
@click.option(
    "--test-to", metavar="EMAIL", help="Send one [TEST] copy to this address only; record nothing."
)
@click.option(
    "--tip", "tip_ref", metavar="ID|SLUG", help="Send this tip instead of the head of the queue."
)
@click.option(
    "--week",
    metavar="YYYY-Www",
    help="The ISO week to send (default: this week, in [schedule] timezone).",
)
@click.option(
    "--resend-in-doubt", is_flag=True, help="Also send again the deliveries reported in doubt."
)
@click.option(
    "--worker",
    is_flag=True,
    help="Only join an edition already being sent (PostgreSQL: another process or machine).",
)
@click.option(
    "--wait",
    "wait",
    type=click.FloatRange(min=0),
    default=0,
    metavar="SECONDS",
    help="With --worker: wait this long for the edition to be started.",
)
@click.option("--yes", is_flag=True, help="Do not ask before sending a past week's edition.")
@click.option("--force", is_flag=True, help="Send even when a pre-flight check fails.")
@pass_state
def send(
    st: State,
    dry_run: bool,
    test_to: str | None,
    tip_ref: str | None,
    week: str | None,
    resend_in_doubt: bool,
    worker: bool,
    wait: float = 0,
    yes: bool = False,
    force: bool = False,
) -> None:
    """Send this week's edition now, or continue it where it stopped.

    A new edition is checked first (as `newsletter check` does) and not sent when a check fails,
    unless --force. --week refuses a future week; a past week's first send asks (or --yes).
    --test-to sends the next tip to go out (or --tip) to one address, whatever this week did.

    Exit 0 when every delivery is settled and none failed; 3 when some failed or are in
    doubt; 4 when the send stopped with the edition unfinished (rows still pending, or held
    by another sender); 1 when it could not start (a failed check, a refused week, a bad
    setting). SIGTERM or Ctrl-C finish the batches in flight, record them, and stop (exit 4).

    Example: newsletter send --dry-run
    """
    settings = st.settings
    now = utcnow()
    iso = IsoWeek.parse(week) if week else current_week(settings.schedule, now)
    engine = st.engine()
    if test_to:
        with st.session() as session:
            result = testsend.send_test(session, settings, iso, tip_ref, test_to, now)
        say(f"sent a [TEST] copy of {escape(result.title)} to {result.address} ({result.where})")
        return
    with st.session() as session:
        late = week is not None and week_needs_confirmation(session, settings, iso, now)
    if late and not dry_run and not yes and not worker:
        question = f"{iso} is past and has no edition: send one for it now, dated today?"
        if not sys.stdin.isatty():
            raise InputError(f"{question} Add --yes to do so; nothing was sent")
        if not click.confirm(question, err=True):
            raise InputError("nothing was sent")
    if not dry_run and not worker:  # (a worker never starts an edition)
        with st.session() as session:
            outcome = preflight.before_send(session, settings, iso, tip_ref, now)
        for line in outcome.warnings:
            warn(line)
        if outcome.failures and not force:
            raise InputError("\n".join([*outcome.failures, preflight.REFUSED]))
    if dry_run:
        with st.session() as session:
            p = plan(session, settings, iso, tip_ref)
        verb = "would continue" if p.exists else "would start"
        say(f"dry run: {verb} edition {p.week}: {escape(p.tip_title)}")
        say(f"{'recipients left' if p.exists else 'recipients'}: {p.recipients}")
        for address in p.first:
            say(f"  {address}")
        if p.recipients > len(p.first):
            say(f"  … and {p.recipients - len(p.first)} more")
        return
    stop = threading.Event()
    with progress_display() as progress, _stop_on_signals(stop):
        report = sending.send_week(
            settings,
            iso,
            engine=engine,
            tip_ref=tip_ref,
            resend_in_doubt=resend_in_doubt,
            join_only=worker,
            wait_for_edition=wait,
            progress=progress,
            stop=stop,
        )
    present(report, st)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and the first Ctrl-C ask the send to stop after the batches in flight."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        warn(f"{signal.Signals(signum).name}: finishing the batches in flight, then stopping")
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield  # signals can only be handled on the main thread (tests drive it otherwise)
        return
    previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def present(report: sending.EditionReport, st: State) -> None:
    """Print the outcome; exit 4 when the edition is unfinished, 3 when deliveries failed or
    are in doubt."""
    c = report.counts
    if (
        not report.created
        and report.sent_now == 0
        and report.finished
        and not report.troubled
        and not report.stopped
    ):
        say(f"Edition {report.week} already sent to {c['sent']} subscribers")
        return
    rate = report.sent_now / report.seconds if report.seconds > 0 else 0.0
    if c:
        say(
            f"Edition {report.week} ({escape(report.tip_title)}): "
            f"{c['sent']} sent, {c['failed']} failed, "
            f"{c['in_doubt']} in doubt, {c['skipped']} skipped of {report.recipients}; "
            f"{report.sent_now} sent now in {report.seconds:.1f} s ({rate:.0f}/s)"
        )
    if st.settings.provider.name == "outbox" and report.sent_now:
        folder = st.settings.path(st.settings.provider.outbox_dir) / report.week
        say(f"The .eml files are in {folder}/")
    if c.get("in_doubt"):
        warn(
            f"{c['in_doubt']} deliveries are in doubt (their batch may or may not have reached "
            f"the provider): see `newsletter editions show {report.week}`; send them again with "
            f"`newsletter send --week {report.week} --resend-in-doubt`"
        )
    if c.get("failed"):
        warn(f"{c['failed']} deliveries failed: see `newsletter editions show {report.week}`")
    if report.stopped:
        err_console.print(f"[red]stopped:[/red] {escape(report.stopped)}")
    if not report.finished:
        for line in unfinished_lines(report):
            warn(line)
        raise SystemExit(EXIT_UNFINISHED)
    if report.troubled:
        raise SystemExit(EXIT_TROUBLED)


def unfinished_lines(report: sending.EditionReport) -> list[str]:
    """What remains of an unfinished edition, and who holds it."""
    c = report.counts
    if not c:
        return [
            f"edition {report.week} may be unfinished (the database could not be read): "
            "run `newsletter send` again when it is back"
        ]
    lines = [
        f"edition {report.week} is unfinished: {c['pending']} pending, {c['claimed']} claimed; "
        "run `newsletter send` again to continue"
    ]
    for h in report.holders:
        state = (
            "still running"
            if h.alive
            else "stopped: the next send resends them under their own key, or reports them"
        )
        lines.append(f"  {h.rows} claimed by {h.who}, {state}")
    return lines


@contextmanager
def progress_display() -> Iterator[sending.Progress]:
    """A Rich bar on a terminal; a log line every 10 batches' worth otherwise."""
    totals = {"sent": 0, "failed": 0, "skipped": 0, "in_doubt": 0}
    if err_console.is_terminal:
        columns = (
            TextColumn("sending"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("send", total=None, detail="")

            def advance(kind: str, n: int) -> None:
                if kind == "total":
                    bar.update(task, total=n)
                    return
                totals[kind] += n
                detail = f"{totals['failed']} failed" if totals["failed"] else ""
                bar.update(task, advance=n, detail=detail)

            yield advance
        return
    state = {"total": 0, "next": 0}

    def log_line(kind: str, n: int) -> None:
        if kind == "total":
            state["total"] = n
            state["next"] = max(n // 10, 1)
            return
        totals[kind] += n
        done = sum(totals.values())
        if done >= state["next"]:
            log.info(
                "sending: %d of %d done (%d sent, %d failed)",
                done,
                state["total"],
                totals["sent"],
                totals["failed"],
            )
            state["next"] += max(state["total"] // 10, 1)

    yield log_line
