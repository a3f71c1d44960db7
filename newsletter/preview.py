"""``newsletter preview``: a tip as a subscriber would get it, without sending anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from newsletter import tips
from newsletter.config import Settings
from newsletter.errors import InputError
from newsletter.names import Greeting, split_name
from newsletter.render import Personaliser, absolute, render_edition
from newsletter.weeks import next_send


@dataclass(frozen=True)
class Preview:
    subject: str
    html: str
    text: str


def preview(
    session: Session, settings: Settings, ref: str | None, *, now: datetime, name: str = ""
) -> Preview:
    """Render the next queued tip (or ``ref``) dated for the next send day."""
    tip = tips.get_tip(session, ref) if ref else tips.next_queued(session)
    if tip is None:
        raise InputError(
            "the queue is empty: add a tip with `newsletter tips add FILE`, or name one"
        )
    send_date = next_send(settings.schedule, now).date()
    rendered = render_edition(settings, tip, send_date=send_date)
    fill = Personaliser(rendered)
    greeting = Greeting.compile(settings.newsletter.greeting).text(split_name(name))
    # A preview link goes nowhere harmful: the web app answers it as an invalid link.
    unsubscribe_url = absolute(settings.newsletter.base_url, "u/preview")
    return Preview(
        subject=rendered.subject,
        html=fill.html(greeting=greeting, unsubscribe_url=unsubscribe_url),
        text=fill.text(greeting=greeting, unsubscribe_url=unsubscribe_url),
    )
