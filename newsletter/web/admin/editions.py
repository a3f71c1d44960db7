"""Editions: the table, each edition's report, and "resend in doubt" behind a confirmation."""

from __future__ import annotations

from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from newsletter import editions, reportrows, reports
from newsletter.config import ScheduleSection
from newsletter.errors import InputError
from newsletter.models import Edition
from newsletter.web.admin.door import Call
from newsletter.weeks import IsoWeek, local_date

PAGE = 25
CHARTED = 26  # editions in the rates chart
ROWS = 50  # failed/in-doubt rows and events per page


def page_number(call: Call, name: str = "page") -> int:
    """A page number from the query (1 for anything that is not a whole number from 1)."""
    text = call.param(name, "1")
    return int(text) if text.isdigit() and 0 < len(text) < 7 and int(text) > 0 else 1


def listing(call: Call) -> Response:
    """``/admin/editions``: every edition, newest first, and the rates chart."""
    page = page_number(call)
    with call.session() as session:
        total = session.scalar(select(func.count()).select_from(Edition)) or 0
        shown = list(
            session.scalars(
                select(Edition).order_by(desc(Edition.week)).limit(PAGE).offset((page - 1) * PAGE)
            )
        )
        charted_editions = list(
            session.scalars(select(Edition).order_by(desc(Edition.week)).limit(CHARTED))
        )
        every = {e.id: e for e in [*shown, *charted_editions]}
        counts = reports.counts_many(session, list(every.values()))
        rows = reports.figures(session, shown, counts)
        charted = list(reversed(reports.figures(session, charted_editions, counts)))
    return call.render(
        "editions.html.j2",
        rows=reportrows.Page(rows, total, page, PAGE),
        charted=charted,
        **rate_series(charted, call.admin.web.settings.schedule),
    )


def rate_series(
    figures: list[reports.Figures], schedule: ScheduleSection
) -> dict[str, list[tuple[str, list[float | None]]]]:
    """The charts' rows: (the edition's date, its rates), for the delivery rate and the rest."""

    def label(f: reports.Figures) -> str:
        day = local_date(schedule, f.edition.sent_at or f.edition.created_at)
        return f"{day:%b} {day.day}, {day.year}"

    return {
        "delivered": [(label(f), [f.delivery_rate]) for f in figures],
        "trouble": [
            (label(f), [f.rate("bounced"), f.rate("complained"), f.rate("unsubscribed")])
            for f in figures
        ],
    }


def _edition(call: Call, session: Session) -> Edition:
    return editions.get(session, str(call.request.path_params["week"]))


def report(call: Call) -> Response:
    """``/admin/editions/<week>``: counts, timing, runs, what it caused, the rows in trouble."""
    week = str(call.request.path_params["week"])
    with call.session() as session:
        edition = _edition(call, session)
        before = list(
            session.scalars(
                select(Edition)
                .where(Edition.week <= edition.week)
                .order_by(desc(Edition.week))
                .limit(CHARTED)
            )
        )
        compared = list(reversed(reports.figures(session, before)))
        figures = compared[-1]
        detail = reports.detail(session, edition, figures.counts)
        troubled = figures.counts["failed"] + figures.counts["in_doubt"]
        problems = reportrows.problems(session, edition, troubled, page_number(call), ROWS)
        caused_total = sum(figures.caused.values())
        caused = reportrows.caused_events(
            session, edition, caused_total, page_number(call, "events"), ROWS
        )
    return call.render(
        "edition.html.j2",
        e=edition,
        f=figures,
        detail=detail,
        problems=problems,
        caused=caused,
        compared=compared,
        resending=call.admin.jobs.running(week),
        **rate_series(compared, call.admin.web.settings.schedule),
    )


def resend_page(call: Call) -> Response:
    """What a resend of the in-doubt rows risks, and the button."""
    with call.session() as session:
        edition = _edition(call, session)
        counts = reports.counts_many(session, [edition])[edition.id]
    return call.render("confirm_resend.html.j2", e=edition, in_doubt=counts["in_doubt"])


def resend(call: Call) -> Response:
    """Send the in-doubt rows again (as `newsletter send --week W --resend-in-doubt`)."""
    with call.session() as session:
        edition = _edition(call, session)
        week, in_doubt = (
            edition.week,
            reports.counts_many(session, [edition])[edition.id]["in_doubt"],
        )
    if not in_doubt:
        raise InputError(f"edition {week} has no deliveries in doubt")
    started = call.admin.jobs.resend_in_doubt(IsoWeek.parse(week), call.via)
    message = (
        f"Resending {in_doubt} in-doubt deliveries of {week}: this page shows the progress."
        if started
        else f"A send of {week} started here is still running."
    )
    return call.redirect(f"/admin/editions/{week}", message, error=not started)
