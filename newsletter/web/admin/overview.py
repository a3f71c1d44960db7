"""The week at a glance: the next send, the runway, the runner, the last editions, trouble."""

from __future__ import annotations

from typing import Any

from sqlalchemy import desc, select
from starlette.responses import Response

from newsletter import health, planning, reports, runners, subscribers
from newsletter.models import Alert, Edition, utcnow
from newsletter.web.admin.door import Call

RUNWAY_HORIZON = 26  # weeks looked ahead for the runway
RUNWAY_SHORT = 4  # fewer weeks than this: a warning
ALERTS_SHOWN = 8


def overview(call: Call) -> Response:
    """``/admin/``."""
    settings = call.admin.web.settings
    now = utcnow()
    with call.session() as session:
        slot = planning.next_up(session, settings, now)
        ahead = planning.weeks_ahead(session, settings, now, RUNWAY_HORIZON)
        dry = planning.dry_within(ahead)
        runway = ahead.index(dry) if dry is not None else None
        checks = health.checks(session, settings, now)
        unfinished = health.unfinished(session, settings, now)
        last_seen = runners.last_seen(session, "scheduler")
        editions = list(session.scalars(select(Edition).order_by(desc(Edition.week))))
        doubtful = reports.in_doubt(session)
        doubt = [(e, doubtful[e.id]) for e in editions if e.id in doubtful]
        latest = reports.figures(session, editions[:3])
        alerts = list(session.scalars(select(Alert).order_by(desc(Alert.at)).limit(ALERTS_SHOWN)))
        people = subscribers.counts_by_status(session)
        context: dict[str, Any] = {
            "slot": slot,
            "next_title": slot.tip.title if slot and slot.tip else None,
            "next_slug": slot.tip.slug if slot and slot.tip else None,
            "runway": runway,
            "horizon": RUNWAY_HORIZON,
            "short": RUNWAY_SHORT,
            "dry": dry,
            "checks": checks,
            "unfinished": unfinished,
            "heartbeat_age": (
                (runners.clock(session) - last_seen.heartbeat_at).total_seconds()
                if last_seen
                else None
            ),
            "doubt": doubt,
            "latest": latest,
            "alerts": alerts,
            "people": people,
            "zone": settings.schedule.timezone,
        }
    return call.render("overview.html.j2", **context)
