"""``newsletter send --test-to``: one [TEST] copy to one address, recorded nowhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from newsletter import editions, planning
from newsletter.config import Settings
from newsletter.errors import ProviderError
from newsletter.messages import MessageFactory
from newsletter.names import PersonName
from newsletter.providers.registry import make_provider
from newsletter.render import render_edition
from newsletter.subscribers import normalise_email
from newsletter.tokens import Tokens
from newsletter.weeks import IsoWeek


@dataclass(frozen=True)
class TestSend:
    title: str
    address: str
    where: str


def send_test(
    session: Session,
    settings: Settings,
    week: IsoWeek,
    tip_ref: str | None,
    address: str,
    now: datetime,
) -> TestSend:
    """Send the next tip to go out (or ``tip_ref``), dated as planned, to ``address`` only.

    Whatever this week's edition did: a test copy is about what goes out next.
    """
    to = normalise_email(address)
    editions.check_sendable(settings)
    tip, send_date = planning.dated(session, settings, tip_ref, now)
    content = render_edition(settings, tip, send_date=send_date)
    title, edition_id = tip.title, 0
    factory = MessageFactory(
        settings, f"test-{week}", edition_id, content, Tokens(settings.require_secret_key())
    )
    message = factory.build(0, 0, to, PersonName(), subject_prefix="[TEST] ")
    provider = make_provider(settings)
    try:
        (result,) = provider.send_batch([message], batch_key=f"test-{week}-{to}")
    finally:
        provider.close()
    if not result.ok:
        raise ProviderError(f"{to}: {result.error}", permanent=True)
    return TestSend(title, to, result.provider_message_id or provider.name)
