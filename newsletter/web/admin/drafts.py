"""A new tip from the browser: an uploaded file, or front matter fields and Markdown, checked
by the same parser as a tip file, previewed exactly as `newsletter preview` renders it."""

from __future__ import annotations

import dataclasses
import io

import yaml
from starlette.responses import HTMLResponse, JSONResponse, Response

from newsletter import planning, tips
from newsletter.errors import InputError
from newsletter.models import utcnow
from newsletter.preview import preview_content
from newsletter.tipfiles import TipDraft
from newsletter.web.admin.door import Call
from newsletter.weeks import human_date

FIELDS = ("title", "slug", "categories", "takeaway", "body")
PREVIEW = ".preview.html"
TIP_FILE_LIMIT = 512 * 1024


def new_page(call: Call) -> Response:
    """``/admin/queue/new``: the form, empty."""
    return _page(call, dict.fromkeys(FIELDS, ""))


def submit(call: Call) -> Response:
    """Preview the draft (button "Preview") or queue it (button "Add to the queue")."""
    values = {f: call.field(f) for f in FIELDS}
    try:
        draft, values = _draft(call, values)
    except InputError as exc:
        return _page(call, values, error=str(exc), status=400)
    if call.field("do") != "add":
        return _page(call, values, draft=draft)
    with call.session() as session:
        (tip,) = tips.add_drafts(session, [draft])
        slot = planning.planned(session, call.admin.web.settings, utcnow()).get(tip.id)
        title, archived_on = tip.title, tip.published_on if tip.status == "archived" else None
    if archived_on is not None:  # a file with `date:` is a back issue: into the archive
        return call.redirect(
            "/admin/queue", f"Archived “{title}” as a back issue of {human_date(archived_on)}."
        )
    when = f" It goes out {human_date(slot.moment.date())}." if slot else ""
    return call.redirect("/admin/queue", f"Queued “{title}”.{when}")


def live(call: Call) -> Response:
    """The live preview's request (JavaScript): a frame address for the draft, or the error."""
    try:
        draft, _ = _draft(call, {f: call.field(f) for f in FIELDS})
        frame = _render(call, draft)
    except InputError as exc:
        return JSONResponse({"ok": False, "error": str(exc)})
    return JSONResponse({"ok": True, "src": frame, "title": draft.title})


def frame(call: Call) -> Response:
    """A rendered draft, for the preview frames (served with the preview's own CSP)."""
    assert call.user_id is not None
    found = call.admin.scratch.path(call.user_id, call.request.path_params["key"], PREVIEW)
    if found is None:
        return HTMLResponse("<p>This preview has expired: preview the draft again.</p>", 404)
    return HTMLResponse(found.read_text(encoding="utf-8"))


def _page(
    call: Call,
    values: dict[str, str],
    *,
    draft: TipDraft | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    src = None
    if draft is not None:
        try:
            src = _render(call, draft)
        except InputError as exc:
            error, status = str(exc), 400
    return call.render("new_tip.html.j2", status, values=values, src=src, error=error)


def _draft(call: Call, values: dict[str, str]) -> tuple[TipDraft, dict[str, str]]:
    """The draft from the uploaded file (its text then fills the form) or from the fields."""
    upload = call.upload("file")
    if upload is not None:
        raw = upload.file.read(TIP_FILE_LIMIT + 1)
        if len(raw) > TIP_FILE_LIMIT:
            raise InputError(f"{upload.filename}: larger than {TIP_FILE_LIMIT // 1024} KB")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{upload.filename}: not UTF-8 text") from None
        draft = tips.parse_tip_text(text, str(upload.filename))
        values = {
            "title": draft.title,
            "slug": draft.slug,
            "categories": ", ".join(draft.categories),
            "takeaway": draft.takeaway,
            "body": draft.body_md,
        }
    else:
        draft = tips.parse_tip_text(_as_file(values), "the form")
    # A tip from the browser has no file of its own for `tips update` to re-read.
    return dataclasses.replace(draft, source_path=""), values


def _as_file(values: dict[str, str]) -> str:
    """The fields as a tip file (front matter + body), for the one parser of tips."""
    meta: dict[str, object] = {"title": values["title"].strip()}
    if values["slug"].strip():
        meta["slug"] = values["slug"].strip()
    categories = [c.strip() for c in values["categories"].split(",") if c.strip()]
    if categories:
        meta["categories"] = categories
    if values["takeaway"].strip():
        meta["takeaway"] = values["takeaway"].strip()
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n{values['body'].replace(chr(13), '')}\n"


def _render(call: Call, draft: TipDraft) -> str:
    """Render the draft dated for the week it would go out if queued now; its frame address."""
    settings = call.admin.web.settings
    with call.session() as session:
        day = planning.first_empty(session, settings, utcnow()).moment.date()
    html = preview_content(settings, draft, day).html
    assert call.user_id is not None
    key = call.admin.scratch.put(call.user_id, PREVIEW, io.BytesIO(html.encode()))
    return f"/admin/preview/draft/{key}"


def tip_frame(call: Call) -> Response:
    """A stored tip as it will go out (or went out, re-rendered), for the preview frames."""
    from newsletter.preview import preview

    with call.session() as session:
        html = preview(
            session,
            call.admin.web.settings,
            str(call.request.path_params["slug"]),
            now=utcnow(),
        ).html
    return HTMLResponse(html)
