"""Provider events: stored once each (by provider and event id), and acted on once.

A hard bounce makes the subscriber ``bounced``, a spam complaint ``complained``, a provider-side
unsubscribe ``unsubscribed``, each with a ``subscriber_events`` row (via ``webhook:<provider>``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter import reports, subscribers
from newsletter.errors import InputError
from newsletter.models import ProviderEvent
from newsletter.suppression import SuppressionList
from newsletter.webhooks import Event


def record(
    session: Session, suppressions: SuppressionList, provider: str, events: Sequence[Event]
) -> int:
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
                        email=_canonical(event.email)[:320],
                        provider_message_id=(event.provider_message_id or "")[:300] or None,
                        payload=event.payload,
                    )
                )
        except IntegrityError:
            continue  # the same event arrived twice at once: the other request has it
        new += 1
        _apply(session, suppressions, provider, event)
    return new


def _apply(session: Session, suppressions: SuppressionList, provider: str, event: Event) -> None:
    if event.kind not in ("bounced", "complained", "unsubscribed") or not event.email:
        return
    try:
        address = subscribers.normalise_email(event.email)
    except InputError:
        return  # not an address we could have sent to
    via = f"webhook:{provider}"
    person = subscribers.by_address(session, address)
    if person is None:
        # Not (or no longer) a subscriber here: remember the opt-out all the same.
        subscribers.suppress_address(session, suppressions, address, reason=event.kind, via=via)
        return
    # The edition it is about, so each edition's report counts what it caused.
    edition_id = reports.edition_of_event(session, person.id, event.provider_message_id)
    subscribers.stop(
        session,
        suppressions,
        person,
        event.kind,
        via=via,
        edition_id=edition_id,
        detail=event.event_id,
    )


def _canonical(email: str) -> str:
    """The address as subscribers are stored (so an erasure finds the event), if it is one."""
    try:
        return subscribers.normalise_email(email)
    except InputError:
        return email.strip().lower()
