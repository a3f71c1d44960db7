"""``newsletter preview``: see the next email before it goes out."""

from __future__ import annotations

import sys
import webbrowser
from pathlib import Path

import click

from newsletter import preflight
from newsletter.cli._app import State, pass_state, say, warn
from newsletter.models import utcnow
from newsletter.preview import preview as make_preview


@click.command()
@click.argument("ref", required=False)
@click.option(
    "--output", "-o", type=click.Path(path_type=Path), help="Write to this file instead of stdout."
)
@click.option("--text", "as_text", is_flag=True, help="The plain-text part instead of the HTML.")
@click.option("--name", default="", help="The name to greet (default: the fallback greeting).")
@click.option("--open", "open_browser", is_flag=True, help="Open the HTML in a browser.")
@pass_state
def preview(
    st: State, ref: str | None, output: Path | None, as_text: bool, name: str, open_browser: bool
) -> None:
    """Render the next queued tip (or REF, an id or slug) exactly as a subscriber gets it.

    Example: newsletter preview --output preview.html --open
    """
    with st.session() as session:
        result = make_preview(session, st.settings, ref, now=utcnow(), name=name)
    for problem in preflight.image_problems(st.settings, result.html):
        warn(f"image will not load: {problem}")
    content = result.text if as_text else result.html
    if open_browser and output is None:
        output = Path("preview.txt" if as_text else "preview.html")
    if output is None:
        sys.stdout.write(content)
        return
    output.write_text(content, encoding="utf-8")
    say(f"wrote {output} (subject: {result.subject})")
    if open_browser and not webbrowser.open(output.resolve().as_uri()):
        warn("no browser found here; open the file yourself")
