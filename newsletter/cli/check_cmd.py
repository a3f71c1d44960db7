"""``newsletter check``: the pre-flight checks of the next tip (or a named one)."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from newsletter import preflight
from newsletter.cli._app import State, out_console, pass_state, print_json, say
from newsletter.models import utcnow
from newsletter.weeks import human_date

EXIT_FAILED = 1
STYLE = {"fail": "red", "warn": "yellow", "ok": "green", "skip": "dim"}


@click.command()
@click.argument("ref", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--offline", is_flag=True, help="Do not fetch images at absolute URLs.")
@pass_state
def check(st: State, ref: str | None, as_json: bool, offline: bool) -> None:
    """Check the next tip to go out (or REF, an id or slug) as it would be sent.

    HTML size against Gmail's clipping, subject length, the plain-text part, the unsubscribe
    headers, image alt text, images that will not load, relative or non-https links, and a
    SpamAssassin score when it is installed. Exit 0 when nothing failed (warnings allowed),
    1 when a check failed or the tip could not be checked.

    Example: newsletter check --json
    """
    with st.session() as session:
        report = preflight.check(session, st.settings, ref, utcnow(), network=not offline)
    if as_json:
        print_json(
            {
                "tip": report.tip.slug,
                "title": report.tip.title,
                "date": report.date.isoformat(),
                "subject": report.subject,
                "passed": not report.failed,
                "checks": [
                    {"name": c.name, "level": c.level, "detail": c.detail} for c in report.checks
                ],
            }
        )
    else:
        say(f"[bold]{escape(report.tip.title)}[/bold], as it goes out {human_date(report.date)}")
        table = Table("check", "level", "detail")
        for c in report.checks:
            level = f"[{STYLE[c.level]}]{c.level}[/{STYLE[c.level]}]"
            table.add_row(c.name, level, escape(c.detail))
        out_console.print(table)
    if report.failed:
        raise SystemExit(EXIT_FAILED)
