"""The queue: the calendar of queued tips, moving, pinning, skipping, removing, test sends."""

from __future__ import annotations

from sqlalchemy import select
from starlette.responses import Response

from newsletter import planning, testsend, tips
from newsletter.models import Tip, utcnow
from newsletter.web.admin.door import Call
from newsletter.weeks import current_week, human_date

MIN_WEEKS = 8


def calendar(call: Call) -> Response:
    """``/admin/queue``: every coming week up to the last planned tip, and the skipped tips."""
    settings = call.admin.web.settings
    now = utcnow()
    with call.session() as session:
        order = planning.in_calendar_order(session, settings, now)
        start = planning.first_open_week(session, settings, now)
        span = MIN_WEEKS
        if order:
            last = order[-1].week
            week, span = start, 1
            while week < last:
                week, span = week.following(), span + 1
            span = max(span + 1, MIN_WEEKS)
        slots = planning.weeks_ahead(session, settings, now, span)
        skipped = list(
            session.scalars(select(Tip).where(Tip.status == "skipped").order_by(Tip.title))
        )
        stale = planning.stale_pins(session, settings, now)
        flowing = [s.tip.slug for s in slots if s.tip is not None and not s.pinned]
    return call.render(
        "queue.html.j2",
        slots=slots,
        flowing=flowing,
        queued=len(order),
        skipped=skipped,
        stale=stale,
        zone=settings.schedule.timezone,
    )


def tip_page(call: Call) -> Response:
    """``/admin/queue/<slug>``: one tip, previewed as it will go out."""
    settings = call.admin.web.settings
    now = utcnow()
    with call.session() as session:
        tip = tips.get_tip(session, call.request.path_params["slug"])
        slot = planning.planned(session, settings, now).get(tip.id)
    return call.render("tip.html.j2", tip=tip, slot=slot, zone=settings.schedule.timezone)


def _slug(call: Call) -> str:
    return str(call.request.path_params["slug"])


def move(call: Call) -> Response:
    """Earlier or later by one week (past the nearest tip that is not pinned)."""
    by = -1 if call.field("direction") == "up" else 1
    with call.session() as session:
        tip = planning.shift(session, call.admin.web.settings, _slug(call), by, utcnow())
        title = tip.title
    return call.redirect("/admin/queue", f"Moved “{title}” {'earlier' if by < 0 else 'later'}.")


def reorder(call: Call) -> Response:
    """The whole queue in a new order (the calendar's drag and drop)."""
    refs = [r for r in call.field("order").split(",") if r]
    with call.session() as session:
        tips.reorder(session, refs)
    return call.redirect("/admin/queue", "The queue is in its new order.")


def pin(call: Call) -> Response:
    """Fix a queued tip to the week of a date."""
    day = planning.parse_day(call.field("on"))
    with call.session() as session:
        slot = planning.pin(session, call.admin.web.settings, _slug(call), day, utcnow())
        title = slot.tip.title if slot.tip else ""
    return call.redirect("/admin/queue", f"Pinned “{title}” to the week of {human_date(day)}.")


def unpin(call: Call) -> Response:
    """Let a pinned tip flow with the queue again."""
    with call.session() as session:
        tip = planning.unpin(session, _slug(call))
        title = tip.title
    return call.redirect("/admin/queue", f"Unpinned “{title}”.")


def skip(call: Call) -> Response:
    """Out of the queue, kept on record."""
    with call.session() as session:
        tip = tips.skip_tip(session, _slug(call))
        title = tip.title
    return call.redirect("/admin/queue", f"Skipped “{title}”: it is listed under Skipped.")


def unskip(call: Call) -> Response:
    """Back in the queue, at the end."""
    with call.session() as session:
        tip = tips.unskip_tip(session, _slug(call))
        title = tip.title
    return call.redirect("/admin/queue", f"“{title}” is back in the queue, at the end.")


def remove_page(call: Call) -> Response:
    """Ask before deleting a tip."""
    with call.session() as session:
        tip = tips.get_tip(session, _slug(call))
    return call.render("confirm_remove_tip.html.j2", tip=tip)


def remove(call: Call) -> Response:
    """Delete a tip that was never sent."""
    with call.session() as session:
        tip = tips.remove_tip(session, _slug(call))
        title = tip.title
    return call.redirect("/admin/queue", f"Removed “{title}”.")


def test_send(call: Call) -> Response:
    """One [TEST] copy of the tip, as it will go out, to the operator's own address."""
    settings = call.admin.web.settings
    now = utcnow()
    with call.session() as session:
        sent = testsend.send_test(
            session, settings, current_week(settings.schedule, now), _slug(call), call.email, now
        )
    return call.redirect(
        f"/admin/queue/{_slug(call)}",
        f"Sent a [TEST] copy of “{sent.title}” to {sent.address} ({sent.where}).",
    )
