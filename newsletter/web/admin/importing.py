"""Importing a list from the browser: upload, a dry run (the mapping and the counts, nothing
written), then the import itself on a button; the file waits server-side in between."""

from __future__ import annotations

from starlette.responses import Response

from newsletter import imports
from newsletter.db import session_factory
from newsletter.errors import InputError
from newsletter.web.admin.door import Call

SUFFIX = ".csv"
SHOWN = 20


def form(call: Call) -> Response:
    """``/admin/subscribers/import``: choose a file."""
    return call.render("import.html.j2", report=None, key=None, mapping="", shown=SHOWN)


def upload(call: Call) -> Response:
    """Keep the file for this account, dry-run it, and show what the import would do."""
    file = call.upload("file")
    if file is None:
        raise InputError("choose a CSV file to import")
    assert call.user_id is not None
    key = call.admin.scratch.put(call.user_id, SUFFIX, file.file)
    mapping = call.field("map").strip()
    report = _run(call, key, mapping, dry=True)
    return call.render(
        "import.html.j2",
        report=report,
        key=key,
        mapping=mapping,
        filename=file.filename,
        shown=SHOWN,
    )


def confirm(call: Call) -> Response:
    """Import the file the dry run was about; then forget it."""
    key = call.field("key")
    report = _run(call, key, call.field("map").strip(), dry=False)
    assert call.user_id is not None
    call.admin.scratch.drop(call.user_id, key, SUFFIX)
    o = report.outcomes
    message = (
        f"Imported {o['added']} of {report.rows} rows; {o['already']} already subscribed, "
        f"{o['opted_out']} opted out by the file, {o['suppressed']} suppressed, "
        f"{o['repeated']} repeated, {o['refused']} refused."
    )
    return call.redirect("/admin/subscribers", message, error=bool(report.errors))


def cancel(call: Call) -> Response:
    """Forget the uploaded file; nothing was imported."""
    assert call.user_id is not None
    call.admin.scratch.drop(call.user_id, call.field("key"), SUFFIX)
    return call.redirect("/admin/subscribers", "Nothing was imported.")


def _run(call: Call, key: str, mapping: str, *, dry: bool) -> imports.ImportReport:
    assert call.user_id is not None
    path = call.admin.scratch.path(call.user_id, key, SUFFIX)
    if path is None:
        raise InputError("that upload has expired (files wait an hour): upload it again")
    suppressions = call.admin.web.suppressions
    if dry:
        factory = session_factory(call.admin.web.engine)
        return imports.dry_run(factory, suppressions, path, mapping=mapping, via=call.via)
    with call.session() as session:
        return imports.import_file(session, suppressions, path, mapping=mapping, via=call.via)
