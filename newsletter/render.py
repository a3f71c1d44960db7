"""A tip becomes an email: Markdown → HTML → Jinja2 → premailer, once per edition.

Per recipient nothing is rendered again: the stored HTML and text carry placeholders that
``content.Body`` fills by plain string joins (the greeting line, the unsubscribe URL).
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import date
from typing import Any, Protocol

import premailer
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)
from jinja2.sandbox import SandboxedEnvironment
from markdown_it import MarkdownIt
from markupsafe import Markup

from newsletter.config import Settings
from newsletter.content import GREETING, UNSUBSCRIBE_URL, RenderedEdition
from newsletter.errors import ConfigError
from newsletter.plaintext import markdown_to_text, wrap

__all__ = ["absolute"]  # re-exported: links in emails and pages are built with it
from newsletter.images import render_body
from newsletter.resources import templates_dir
from newsletter.urls import absolute


class TipContent(Protocol):
    """What rendering needs of a tip (the ``Tip`` model has it)."""

    @property
    def title(self) -> str: ...
    @property
    def slug(self) -> str: ...
    @property
    def body_md(self) -> str: ...
    @property
    def takeaway(self) -> str: ...


def markdown(allow_html: bool) -> MarkdownIt:
    """CommonMark + tables + typographic quotes; raw HTML escaped unless ``allow_html``."""
    md = MarkdownIt("commonmark", {"html": allow_html, "typographer": True})
    return md.enable(["table", "replacements", "smartquotes"])


def send_date_text(day: date) -> str:
    """``Tuesday, January 27, 2026``."""
    return f"{day:%A}, {day:%B} {day.day}, {day.year}"


def archive_url(settings: Settings, slug: str) -> str:
    """The tip's page in the public archive (the "view in browser" link)."""
    return absolute(settings.newsletter.base_url, f"archive/{slug}")


def render_subject(settings: Settings, tip: TipContent) -> str:
    """The subject line from the ``subject`` template in the config (one line)."""
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    try:
        subject = env.from_string(settings.newsletter.subject).render(tip=tip)
    except TemplateError as exc:
        raise ConfigError(f"[newsletter] subject: {exc.message or exc}") from None
    return " ".join(subject.split())


def render_edition(settings: Settings, tip: TipContent, *, send_date: date) -> RenderedEdition:
    """Render a tip once: subject, inlined HTML and the plain-text twin.

    The last few renders are kept: `send` checks the edition it is about to start (the
    pre-flight) and then starts it, and inlining the CSS is the slow part of either.
    """
    key = (settings, tip.title, tip.slug, tip.body_md, tip.takeaway, send_date)
    try:
        return _rendered[key]
    except (KeyError, TypeError):  # (TypeError: a value that cannot be a key; render anyway)
        pass
    content = _render_edition(settings, tip, send_date=send_date)
    try:
        _rendered[key] = content
    except TypeError:
        return content
    while len(_rendered) > 4:
        del _rendered[next(iter(_rendered))]
    return content


_rendered: dict[tuple[object, ...], RenderedEdition] = {}


def _render_edition(settings: Settings, tip: TipContent, *, send_date: date) -> RenderedEdition:
    md = markdown(settings.newsletter.allow_html)
    env = template_environment(settings)
    body_text = markdown_to_text(md, tip.body_md)
    context: dict[str, Any] = {
        "lang": "en",
        "newsletter": settings.newsletter,
        "tip": tip,
        "date": send_date_text(send_date),
        "body_html": Markup(render_body(md, settings, tip.body_md)),  # noqa: S704 (markdown-it escapes unless allow_html)
        "body_text": body_text.rstrip("\n"),
        "takeaway_text": wrap(f"The takeaway: {tip.takeaway}") if tip.takeaway else "",
        "preheader": preheader(body_text),
        "links": [
            {"label": link.label, "url": absolute(settings.newsletter.base_url, link.url)}
            for link in settings.links
        ],
        "view_url": archive_url(settings, tip.slug),
        "postal_address": settings.newsletter.postal_address,
        "greeting": bool(settings.newsletter.greeting.strip()),
        "greeting_placeholder": Markup(GREETING),  # noqa: S704 (a constant)
        "unsubscribe_placeholder": Markup(UNSUBSCRIBE_URL),  # noqa: S704 (a constant)
    }
    raw_html = _render(env, "email.html.j2", context)
    text = _render(env, "email.txt.j2", context)
    html_part = inline_css(raw_html)
    needed = (GREETING, UNSUBSCRIBE_URL) if context["greeting"] else (UNSUBSCRIBE_URL,)
    missing = [p for p in needed if p not in html_part]
    if missing:
        raise ConfigError(f"the email template lost the placeholder(s) {', '.join(missing)}")
    return RenderedEdition(render_subject(settings, tip), html_part, _tidy_text(text))


def template_environment(settings: Settings) -> Environment:
    """Jinja2 over the operator's ``templates_dir`` (if set), then the packaged templates."""
    folders = [templates_dir()]
    if settings.newsletter.templates_dir:
        custom = settings.path(settings.newsletter.templates_dir)
        if not custom.is_dir():
            raise ConfigError(f"[newsletter] templates_dir: {custom} is not a folder")
        folders.insert(0, custom)
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders]),
        autoescape=select_autoescape(enabled_extensions=("html.j2", "html")),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _render(env: Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"{exc.filename or name}:{exc.lineno}: {exc.message}") from None
    except TemplateNotFound as exc:
        raise ConfigError(f"template {exc.name} not found in the templates folders") from None
    except TemplateError as exc:
        where = _template_line(sys.exc_info()[2]) or name
        raise ConfigError(f"{where}: {exc.message or exc}") from None


def _template_line(tb: Any) -> str | None:
    """``file:line`` of the innermost template frame of a traceback."""
    found = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".j2", ".css", ".html")):
            found = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def inline_css(document: str) -> str:
    """premailer: ``<style>`` rules become ``style=""``; @media rules stay in ``<head>``."""
    transformer = premailer.Premailer(
        document,
        allow_network=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
        remove_classes=False,
        strip_important=False,
    )
    result: str = transformer.transform(pretty_print=False)
    return result


def preheader(text: str, limit: int = 140) -> str:
    """The first sentence of the tip, for the inbox preview line."""
    flat = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(\s|$)", flat)
    sentence = match.group(1) if match else flat
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rsplit(" ", 1)[0] + "…"


def _tidy_text(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
