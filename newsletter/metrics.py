"""``/metrics``: the newsletter's state in the Prometheus text format, read from the database.

Every scrape builds a registry of its own with one collector that asks the database (no
process-global counters: several web processes, the CLI and the runner all write the same
database, and each scrape sees all of it). Each figure is one cheap query; the deliveries come
from ``reports.counts_many`` (kept counts for settled editions).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter import health, reports, runners, subscribers, tips
from newsletter.models import (
    DELIVERY_STATUSES,
    EDITION_STATUSES,
    MAIL_STATUSES,
    Edition,
    OutgoingMail,
    ProviderEvent,
    SubscriberEvent,
)


def exposition(session: Session) -> bytes:
    """The text a scrape gets."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_FromDatabase(session))
    return generate_latest(registry)


class _FromDatabase(Collector):
    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[Metric]:
        s = self.session
        yield _by_label(
            "newsletter_subscribers",
            "Subscribers by status.",
            "status",
            subscribers.counts_by_status(s),
        )
        yield _deliveries(s)
        editions = dict.fromkeys(EDITION_STATUSES, 0)
        for status, n in s.execute(select(Edition.status, func.count()).group_by(Edition.status)):
            editions[status] = n
        yield _by_label("newsletter_editions", "Editions by status.", "status", editions)
        queue = GaugeMetricFamily("newsletter_queue_length", "Tips queued, not yet sent.")
        queue.add_metric([], tips.queue_length(s))
        yield queue
        yield from _runner(s)
        yield from _last_edition(s)
        events = CounterMetricFamily(
            "newsletter_webhook_events",
            "Provider webhook events stored, by provider and kind.",
            labels=["provider", "kind"],
        )
        for provider, kind, n in s.execute(
            select(ProviderEvent.provider, ProviderEvent.kind, func.count())
            .group_by(ProviderEvent.provider, ProviderEvent.kind)
            .order_by(ProviderEvent.provider, ProviderEvent.kind)
        ):
            events.add_metric([provider, kind], n)
        yield events
        yield from _signups(s)


def _by_label(name: str, documentation: str, label: str, values: dict[str, int]) -> Metric:
    gauge = GaugeMetricFamily(name, documentation, labels=[label])
    for key, n in values.items():
        gauge.add_metric([key], n)
    return gauge


def _deliveries(session: Session) -> Metric:
    totals = dict.fromkeys(DELIVERY_STATUSES, 0)
    editions = list(session.scalars(select(Edition)))
    for counts in reports.counts_many(session, editions).values():
        for status, n in counts.items():
            totals[status] += n
    return _by_label(
        "newsletter_deliveries", "Deliveries of every edition, by status.", "status", totals
    )


def _runner(session: Session) -> Iterator[Metric]:
    alive = GaugeMetricFamily(
        "newsletter_runner_up", "1 while a `newsletter run` writes its heartbeat."
    )
    alive.add_metric([], 1 if runners.alive(session, "scheduler", health.RUNNER_STALE) else 0)
    yield alive
    last = runners.last_seen(session, "scheduler")
    if last is not None:
        age = GaugeMetricFamily(
            "newsletter_runner_heartbeat_age_seconds",
            "Seconds since the weekly runner last wrote its heartbeat.",
        )
        age.add_metric([], max((runners.clock(session) - last.heartbeat_at).total_seconds(), 0))
        yield age


def _last_edition(session: Session) -> Iterator[Metric]:
    sent_at: datetime | None = session.scalar(select(func.max(Edition.sent_at)))
    if sent_at is not None:
        gauge = GaugeMetricFamily(
            "newsletter_last_edition_timestamp_seconds",
            "When the newest edition went out (Unix time).",
        )
        gauge.add_metric([], sent_at.timestamp())
        yield gauge


def _signups(session: Session) -> Iterator[Metric]:
    confirmed = CounterMetricFamily(
        "newsletter_signup_confirmations",
        "Signups confirmed by the person's link (double opt-in).",
    )
    confirmed.add_metric(
        [],
        session.scalar(
            select(func.count())
            .select_from(SubscriberEvent)
            .where(SubscriberEvent.kind == "confirmed")
        )
        or 0,
    )
    yield confirmed
    mails = dict.fromkeys(MAIL_STATUSES, 0)
    for status, n in session.execute(
        select(OutgoingMail.status, func.count())
        .where(OutgoingMail.kind == "confirm")
        .group_by(OutgoingMail.status)
    ):
        mails[status] = n
    yield _by_label(
        "newsletter_confirmation_emails",
        "Signup confirmation emails by status (queued, sending, sent, failed).",
        "status",
        mails,
    )
