"""The ``newsletter`` command: parse, call one library function, print.

Exit codes: 0 done; 1 a user error (one line, no traceback); 2 usage; 3 a send finished with
failed or in-doubt deliveries; 4 a send stopped with the edition unfinished.
"""

from __future__ import annotations

import click

from newsletter import logs
from newsletter.cli._app import NewsletterGroup, State

COMMANDS = {
    name: f"newsletter.cli.{module}:{attribute}"
    for name, module, attribute in (
        ("init", "init_cmd", "init"),
        ("status", "status_cmd", "status"),
        ("preview", "preview_cmd", "preview"),
        ("send", "send_cmd", "send"),
        ("editions", "editions_cmd", "editions"),
        ("providers", "providers_cmd", "providers"),
        ("run", "run_cmd", "run"),
        ("serve", "serve_cmd", "serve"),
        ("db", "db_cmd", "db"),
        ("tips", "tips_cmd", "tips"),
        ("calendar", "calendar_cmd", "calendar"),
        ("archive", "archive_cmd", "archive"),
        ("check", "check_cmd", "check"),
        ("subscribers", "subscribers_cmd", "subscribers"),
        ("admin", "admin_cmd", "admin"),
    )
}


@click.group(
    cls=NewsletterGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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
    logs.configure(verbose)
    ctx.obj = State(config_path=config_path)
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="newsletter")
