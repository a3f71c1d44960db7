"""Provider events: stored once each (by provider and event id), and acted on once.

A hard bounce makes the subscriber ``bounced``, a spam complaint ``complained``, a provider-side
unsubscribe ``unsubscribed``, each with a ``subscriber_events`` row (via ``webhook:<provider>``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter import subscribers
from newsletter.models import ProviderEvent
from newsletter.webhooks import Event


def record(session: Session, provider: str, events: Sequence[Event]) -> int:
    """Store new events and apply them; returns how many were new."""
    new = 0
    for event in events:
        exists = session.scalar(
            select(ProviderEvent.id).where(
                ProviderEvent.provider == provider, ProviderEvent.event_id == event.event_id
            )
        )
        if exists is not None:
            continue
        try:
            with session.begin_nested():
                session.add(
                    ProviderEvent(
                        provider=provider,
                        event_id=event.event_id[:300],
                        kind=event.kind[:50],
                        email=event.email.strip().lower()[:320],
                        provider_message_id=event.provider_message_id,
                        payload=event.payload,
                    )
                )
        except IntegrityError:
            continue  # the same event arrived twice at once: the other request has it
        new += 1
        _apply(session, provider, event)
    return new


def _apply(session: Session, provider: str, event: Event) -> None:
    if event.kind not in ("bounced", "complained", "unsubscribed") or not event.email:
        return
    person = subscribers.by_address(session, event.email.strip().lower())
    if person is None:
        return
    via = f"webhook:{provider}"
    if event.kind == "unsubscribed":
        subscribers.unsubscribe(session, person, via=via)
    else:
        subscribers.mark_bounced(session, person, kind=event.kind, via=via, detail=event.event_id)
