"""``newsletter preview``: a tip as a subscriber would get it, without sending anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from newsletter import planning
from newsletter.config import Settings
from newsletter.content import Body
from newsletter.names import Greeting, split_name
from newsletter.render import TipContent, absolute, render_edition


@dataclass(frozen=True)
class Preview:
    subject: str
    html: str
    text: str


def preview(
    session: Session, settings: Settings, ref: str | None, *, now: datetime, name: str = ""
) -> Preview:
    """Render the next tip to go out (or ``ref``) dated for the day it is planned."""
    tip, send_date = planning.dated(session, settings, ref, now)
    return preview_content(settings, tip, send_date, name=name)


def preview_content(
    settings: Settings, tip: TipContent, send_date: date, *, name: str = ""
) -> Preview:
    """Render any tip (one not stored yet, too) as a subscriber would get it on ``send_date``."""
    rendered = render_edition(settings, tip, send_date=send_date)
    body = Body.of(rendered)
    fields = {
        "greeting": Greeting.compile(settings.newsletter.greeting).text(split_name(name)),
        # A preview link goes nowhere harmful: the web app answers it as an invalid link.
        "unsubscribe_url": absolute(settings.newsletter.base_url, "u/preview"),
    }
    return Preview(subject=rendered.subject, html=body.html(fields), text=body.text(fields))
