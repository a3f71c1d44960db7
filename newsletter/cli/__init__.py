"""The ``newsletter`` command: parse, call one library function, print.

Exit codes: 0 done; 1 a user error (one line, no traceback); 2 usage; 3 a send finished with
failed or in-doubt deliveries.
"""

from __future__ import annotations

import logging

import click

from newsletter.cli import (
    admin_cmd,
    archive_cmd,
    calendar_cmd,
    check_cmd,
    db_cmd,
    editions_cmd,
    init_cmd,
    preview_cmd,
    providers_cmd,
    run_cmd,
    send_cmd,
    serve_cmd,
    status_cmd,
    subscribers_cmd,
    tips_cmd,
)
from newsletter.cli._app import NewsletterGroup, State


@click.group(cls=NewsletterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "-c",
    "config_path",
    metavar="FILE",
    help="config.toml to use (default: $NEWSLETTER_CONFIG, then ./config.toml).",
)
@click.option("--verbose", "-v", is_flag=True, help="Log more detail.")
@click.version_option(package_name="newsletter")
@click.pass_context
def app(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """A self-hosted sender for a weekly email newsletter."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ctx.obj = State(config_path=config_path)
    ctx.call_on_close(ctx.obj.close)


app.add_command(init_cmd.init)
app.add_command(status_cmd.status)
app.add_command(preview_cmd.preview)
app.add_command(send_cmd.send)
app.add_command(editions_cmd.editions)
app.add_command(providers_cmd.providers)
app.add_command(run_cmd.run)
app.add_command(serve_cmd.serve)
app.add_command(db_cmd.db)
app.add_command(tips_cmd.tips)
app.add_command(calendar_cmd.calendar)
app.add_command(archive_cmd.archive)
app.add_command(check_cmd.check)
app.add_command(subscribers_cmd.subscribers)
app.add_command(admin_cmd.admin)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="newsletter")
