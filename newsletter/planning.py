"""The content calendar: which week each queued tip goes out in.

One rule places every queued tip (``upcoming``): weeks are walked from a start week; a week
that already has an edition is passed over; a tip pinned to a week takes that week; every other
week takes the next unpinned tip in queue order. The weekly send asks the same rule which tip is
due (``tip_for_week``), so what `tips list` and `calendar` show is what goes out. A pin on a
week that passed without its edition no longer holds: that tip flows with the queue again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import tips
from newsletter.config import Settings
from newsletter.errors import InputError
from newsletter.models import Edition, Tip
from newsletter.weeks import IsoWeek, current_week, human_date, human_moment, send_moment


@dataclass(frozen=True)
class Slot:
    """A coming week: when it sends, and the tip planned for it (None: nothing queued)."""

    week: IsoWeek
    moment: datetime
    tip: Tip | None
    pinned: bool


def first_open_week(session: Session, settings: Settings, now: datetime) -> IsoWeek:
    """The first week whose edition is still to come: this week, unless it went out or its
    slot has passed."""
    week = current_week(settings.schedule, now)
    taken = session.scalar(select(Edition.id).where(Edition.week == str(week)))
    if taken is None and send_moment(settings.schedule, week) >= now:
        return week
    return week.following()


def upcoming(session: Session, settings: Settings, start: IsoWeek) -> Iterator[Slot]:
    """Every week from ``start`` on, with its tip (endless: empty weeks once the queue runs out)."""
    queued = tips.list_tips(session)
    sent_weeks = set(session.scalars(select(Edition.week).where(Edition.week >= str(start))))
    pinned = {
        t.pinned_week: t
        for t in queued
        if t.pinned_week and t.pinned_week >= str(start) and t.pinned_week not in sent_weeks
    }
    flowing = deque(t for t in queued if t not in pinned.values())
    week = start
    while True:
        if str(week) not in sent_weeks:
            moment = send_moment(settings.schedule, week)
            if str(week) in pinned:
                yield Slot(week, moment, pinned.pop(str(week)), True)
            else:
                yield Slot(week, moment, flowing.popleft() if flowing else None, False)
        week = week.following()


def tip_for_week(session: Session, settings: Settings, week: IsoWeek) -> Tip | None:
    """The tip that goes out in ``week``: the one pinned to it, else the head of the queue."""
    return next(upcoming(session, settings, week)).tip


def planned(session: Session, settings: Settings, now: datetime) -> dict[int, Slot]:
    """Every queued tip's slot, by tip id."""
    left = tips.queue_length(session)
    found: dict[int, Slot] = {}
    for slot in upcoming(session, settings, first_open_week(session, settings, now)):
        if len(found) == left:
            break
        if slot.tip is not None:
            found[slot.tip.id] = slot
    return found


def next_up(session: Session, settings: Settings, now: datetime) -> Slot | None:
    """The next tip to go out, and when; None when the queue is empty."""
    slots = planned(session, settings, now).values()
    return min(slots, key=lambda s: s.week) if slots else None


def dated(session: Session, settings: Settings, ref: str | None, now: datetime) -> tuple[Tip, date]:
    """The tip named (any status), or the next to go out, with the date it goes out (a tip
    with no slot ahead: today). What `preview`, `check` and `send --test-to` show."""
    if ref:
        tip = tips.get_tip(session, ref)
        slot = planned(session, settings, now).get(tip.id)
    else:
        slot = next_up(session, settings, now)
        if slot is None or slot.tip is None:
            raise InputError(
                "the queue is empty: add a tip with `newsletter tips add FILE`, or name one"
            )
        tip = slot.tip
    today = now.astimezone(ZoneInfo(settings.schedule.timezone)).date()
    return tip, slot.moment.date() if slot else today


def weeks_ahead(session: Session, settings: Settings, now: datetime, count: int) -> list[Slot]:
    """The next ``count`` weeks, empty ones included."""
    slots = upcoming(session, settings, first_open_week(session, settings, now))
    return [next(slots) for _ in range(count)]


def first_empty(session: Session, settings: Settings, now: datetime) -> Slot:
    """The first coming week with nothing planned: where a tip queued now would go out."""
    return next(
        s for s in upcoming(session, settings, first_open_week(session, settings, now)) if not s.tip
    )


def in_calendar_order(session: Session, settings: Settings, now: datetime) -> list[Slot]:
    """Every queued tip's slot, in the order they go out."""
    return sorted(planned(session, settings, now).values(), key=lambda s: s.week)


def shift(session: Session, settings: Settings, ref: str, by: int, now: datetime) -> Tip:
    """Move a queued tip one week earlier (``by=-1``) or later (``+1``): it trades places with
    the nearest tip that is not pinned; pinned tips keep their weeks."""
    tip = tips.get_tip(session, ref)
    if tip.status != "queued":
        raise InputError(f"tip '{tip.slug}' is {tip.status}, not queued, so it can't be moved")
    order = in_calendar_order(session, settings, now)
    flowing = [s.tip for s in order if s.tip is not None and not s.pinned]
    if tip not in flowing:
        raise InputError(f"tip '{tip.slug}' is pinned to its week; unpin it to move it")
    i = flowing.index(tip)
    j = i + by
    if not 0 <= j < len(flowing):
        raise InputError(f"tip '{tip.slug}' is already the {'first' if by < 0 else 'last'} to go")
    flowing[i], flowing[j] = flowing[j], flowing[i]
    rest = iter(flowing)
    new_order = [s.tip if s.pinned else next(rest) for s in order if s.tip is not None]
    tips.reorder(session, [str(t.id) for t in new_order if t is not None])
    return tip


def stale_pins(session: Session, settings: Settings, now: datetime) -> list[Tip]:
    """Queued tips pinned to a week that passed without their edition."""
    start = str(first_open_week(session, settings, now))
    return [t for t in tips.list_tips(session) if t.pinned_week and t.pinned_week < start]


def pin(session: Session, settings: Settings, ref: str, on: date, now: datetime) -> Slot:
    """Fix a queued tip to the ISO week containing ``on``; one tip per week, never in the past."""
    tip = tips.get_tip(session, ref)
    if tip.status != "queued":
        raise InputError(f"tip '{tip.slug}' is {tip.status}, not queued, so it can't be pinned")
    zone = settings.schedule.timezone
    today = now.astimezone(ZoneInfo(zone)).date()
    if on < today:
        raise InputError(f"{on} is in the past (today is {today} in {zone})")
    week = IsoWeek.of(on)
    moment = send_moment(settings.schedule, week)
    sent = session.scalar(select(Edition.id).where(Edition.week == str(week)))
    if sent is not None:
        raise InputError(f"the week of {on} ({week}) already has its edition; pick a later date")
    if moment < now:
        raise InputError(
            f"the week of {on} sent on {human_moment(moment)} ({zone}), which has passed; "
            "pick a later date"
        )
    other = session.scalars(
        select(Tip).where(Tip.pinned_week == str(week), Tip.id != tip.id)
    ).first()
    if other is not None:
        raise InputError(
            f"'{other.slug}' is already pinned to the week of {human_date(moment.date())}; "
            f"unpin it first (`newsletter tips unpin {other.slug}`)"
        )
    tip.pinned_week = str(week)
    session.flush()
    return Slot(week, moment, tip, True)


def unpin(session: Session, ref: str) -> Tip:
    """Let a pinned tip flow with the queue again, at its place in it."""
    tip = tips.get_tip(session, ref)
    if tip.pinned_week is None:
        raise InputError(f"tip '{tip.slug}' is not pinned")
    tip.pinned_week = None
    session.flush()
    return tip


def parse_day(text: str) -> date:
    """``2026-12-22`` → a date; a clear error for anything else."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{text!r} is not a date like 2026-12-22") from None


def dry_within(slots: list[Slot]) -> Slot | None:
    """The first empty week among ``slots``, if the queue runs dry within them."""
    return next((s for s in slots if s.tip is None), None)
