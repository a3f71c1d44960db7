"""Subscribers: search, one person's page, add, unsubscribe, resubscribe, remove, export."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from newsletter import listfiles
from newsletter import subscribers as people
from newsletter.errors import InputError
from newsletter.models import SUBSCRIBER_STATUSES, Subscriber
from newsletter.names import PersonName, split_name
from newsletter.reportrows import Page
from newsletter.web.admin.door import Call
from newsletter.web.admin.editions import page_number

PAGE = 50
QUERY_LIMIT = 100


def listing(call: Call) -> Response:
    """``/admin/subscribers``: search by address or name, filter by status, paged."""
    query = call.param("q")[:QUERY_LIMIT]
    status = call.param("status") or None
    if status not in (None, *SUBSCRIBER_STATUSES):
        status = None
    page = page_number(call)
    with call.session() as session:
        counts = people.counts_by_status(session)
        found = people.search(
            session, query, status, offset=(page - 1) * PAGE, limit=PAGE, counts=counts
        )
    return call.render(
        "subscribers.html.j2",
        rows=Page(found.rows, found.total, page, PAGE),
        capped=found.capped,
        query=query,
        status=status or "",
        statuses=SUBSCRIBER_STATUSES,
        counts=counts,
    )


def _person(call: Call, session: Session) -> Subscriber:
    found = session.get(Subscriber, int(call.request.path_params["id"]))
    if found is None:
        raise InputError("no such subscriber (removed?)")
    return found


def one(call: Call) -> Response:
    """``/admin/subscribers/<id>``: status, consent, events, deliveries."""
    with call.session() as session:
        person = session.get(Subscriber, int(call.request.path_params["id"]))
        if person is None:
            return call.render(
                "message.html.j2",
                404,
                heading="No such subscriber",
                lines=["They may have been removed. Search the list again."],
            )
        story = people.history(session, call.admin.web.suppressions, person.email)
    return call.render(
        "subscriber.html.j2",
        s=story["subscriber"],
        story=story,
        zone=call.admin.web.settings.schedule.timezone,
    )


def add(call: Call) -> Response:
    """Add one subscriber, active at once."""
    first, last = call.field("first_name"), call.field("last_name")
    name = PersonName(first, last) if first or last else split_name(call.field("name"))
    with call.session() as session:
        person = people.add(
            session, call.admin.web.suppressions, call.field("email"), name=name, via=call.via
        )
        where, address = f"/admin/subscribers/{person.id}", person.email
    return call.redirect(where, f"Added {address}.")


def unsubscribe(call: Call) -> Response:
    """Stop all mail to this subscriber (as their own link would)."""
    with call.session() as session:
        person = _person(call, session)
        changed = people.unsubscribe(session, call.admin.web.suppressions, person, via=call.via)
        address, where = person.email, f"/admin/subscribers/{person.id}"
    return call.redirect(
        where, f"Unsubscribed {address}." if changed else f"{address} was already unsubscribed."
    )


def resubscribe(call: Call) -> Response:
    """Make them active again and lift the suppression, with a reason for the log."""
    reason = people.check_text(call.field("reason"), "the reason")
    if not reason:
        raise InputError("give a reason (it is kept in the log), e.g. “asked by email on 3 May”")
    with call.session() as session:
        person = _person(call, session)
        _, changed = people.resubscribe(
            session, call.admin.web.suppressions, person, via=call.via, reason=reason
        )
        address, where = person.email, f"/admin/subscribers/{person.id}"
    return call.redirect(
        where, f"Resubscribed {address}." if changed else f"{address} is already active."
    )


def remove_page(call: Call) -> Response:
    """Ask before removing (and say what erasing means)."""
    with call.session() as session:
        person = _person(call, session)
    return call.render("confirm_remove.html.j2", person=person)


def remove(call: Call) -> Response:
    """Delete the subscriber; with "erase", their history too."""
    erase = call.field("erase") == "yes"
    with call.session() as session:
        person = _person(call, session)
        address = person.email
        people.remove(session, call.admin.web.suppressions, person, erase=erase, via=call.via)
    done = "Removed " + address + (" and erased their history." if erase else ".")
    return call.redirect("/admin/subscribers", done)


def export(call: Call) -> Response:
    """Every subscriber, every field, as CSV (``?spreadsheet=1``: safe to open in Excel)."""
    spreadsheet = call.param("spreadsheet") == "1"
    handle, name = tempfile.mkstemp(prefix="newsletter-export-", suffix=".csv")
    path = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out, call.session() as s:
            listfiles.export_csv(s, out, spreadsheet=spreadsheet)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        filename="subscribers.csv",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
