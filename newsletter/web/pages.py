"""Server-rendered pages: the web templates with what every page needs."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from starlette.responses import HTMLResponse

from newsletter.config import Settings
from newsletter.render import absolute


class Pages:
    """Renders ``templates/web/*`` in the newsletter's look."""

    def __init__(self, settings: Settings, env: Environment) -> None:
        self.settings = settings
        self.env = env
        # Templates are compiled once per process: no stat() of every template file (and the
        # layout it extends) on every page. Edited templates show after a restart.
        env.auto_reload = False
        base = settings.newsletter.base_url
        self.links = [
            {"label": link.label, "url": absolute(base, link.url)} for link in settings.links
        ]

    def url(self, path: str) -> str:
        """A link within the site (root-relative, so it works behind any proxy)."""
        return "/" + path.lstrip("/")

    def absolute(self, path: str) -> str:
        """A public URL (for feeds), from ``base_url``."""
        return absolute(self.settings.newsletter.base_url, path)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        page = self.env.get_template(f"web/{template}").render(
            newsletter=self.settings.newsletter, links=self.links, url=self.url, **context
        )
        return HTMLResponse(page, status_code=status)

    def message(self, heading: str, *lines: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A card with a heading, some lines, and optionally one button (a POST form)."""
        context.setdefault("form_action", None)
        context.setdefault("offer_signup", False)
        return self.render("message.html.j2", status, heading=heading, lines=lines, **context)


def mask(address: str) -> str:
    """``ann.smith@example.com`` → ``a********@example.com``: recognisable, not revealed."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}{'*' * max(len(local) - 1, 3)}@{domain}"
