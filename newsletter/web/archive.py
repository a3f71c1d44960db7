"""The public archive: /archive (pages and search), /archive/<slug>, /categories,
/category/<slug>, /feed.xml, and the tips' images under /media/.

Every page here but the media files is kept in ``ctx.archive_pages`` (see ``pagecache``)
until the archive changes. Every query parameter is checked here: a page that is not a whole
number from 1 (``²``, ``-1``, ``abc``, 30 digits) or a search over 200 characters is a 400
page; a page past the last one is a 404. Redirects are built from ``base_url``, never from
the request's Host.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, time
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from newsletter import archive, categories, images
from newsletter.render import send_date_text
from newsletter.web.context import WebContext

MAX_QUERY = 200
_PAGE = re.compile(r"^[0-9]{1,6}$")  # ASCII digits only: "²".isdigit() is True


class BadRequest(Exception):
    """A query parameter that cannot be right: answered with a 400 page."""


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    if not _PAGE.match(raw) or int(raw) < 1:
        raise BadRequest("The page number must be a whole number from 1.")
    return int(raw)


def _query(request: Request) -> str:
    query = request.query_params.get("q", "").strip()
    if len(query) > MAX_QUERY:
        raise BadRequest(f"Search for at most {MAX_QUERY} characters.")
    return query


def _render_listing(
    ctx: WebContext, found: archive.Listing, base: str, params: dict[str, str], **context: Any
) -> Response:
    if found.page > found.pages:
        return ctx.pages.message("Page not found", "There is no such page.", status=404)

    def page_url(n: int) -> str:
        query = urlencode({**params, **({"page": str(n)} if n > 1 else {})})
        return ctx.pages.url(base) + (f"?{query}" if query else "")

    rows = [
        {
            "title": e.tip.title,
            "url": ctx.pages.url(f"archive/{e.tip.slug}"),
            "short_date": e.short_date,
            "excerpt": archive.excerpt(e.tip),
        }
        for e in found.entries
    ]
    numbers = _pager(found.page, found.pages)
    return ctx.pages.render(
        "archive.html.j2",
        items=rows,
        page=found.page,
        pages=found.pages,
        total=found.total,
        pager=[(n, page_url(n) if n else "") for n in numbers],
        newer_url=page_url(found.page - 1) if found.page > 1 else None,
        older_url=page_url(found.page + 1) if found.page < found.pages else None,
        **context,
    )


def _pager(page: int, pages: int) -> list[int]:
    """Page numbers to show: the first, the last, and two either side (0 marks a gap)."""
    shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    out: list[int] = []
    for n in shown:
        if out and n > out[-1] + 1:
            out.append(0)
        out.append(n)
    return out


def _bad(ctx: WebContext, exc: BadRequest) -> Response:
    return ctx.pages.message("Bad request", str(exc), status=400)


def listing(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        try:
            number, query = _page_number(request), _query(request)
        except BadRequest as exc:
            return _bad(ctx, exc)
        with ctx.session() as session:
            if query:
                found = archive.search(session, query, number)
                return _render_listing(
                    ctx, found, "archive", {"q": query}, category=None, query=query
                )
            found = archive.listing(session, number)
            return _render_listing(ctx, found, "archive", {}, category=None, query="")

    return ctx.archive_pages.route(endpoint)


def category(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        given = str(request.path_params["name"])
        try:
            number = _page_number(request)
        except BadRequest as exc:
            return _bad(ctx, exc)
        with ctx.session() as session:
            name = categories.name_for(session, given)
            if name is None:
                clean = categories.slug(given)
                if clean != given and categories.name_for(session, clean) is not None:
                    # An old address with the raw name in it: send it to the clean one.
                    return RedirectResponse(ctx.pages.absolute(f"category/{clean}"), 301)
                return ctx.pages.message(
                    "Category not found", "There is no category at this address.", status=404
                )
            found = archive.listing(session, number, name)
            return _render_listing(ctx, found, f"category/{given}", {}, category=name, query="")

    return ctx.archive_pages.route(endpoint)


def category_index(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        with ctx.session() as session:
            rows = [
                {"name": name, "url": ctx.pages.url(f"category/{slug}"), "count": n}
                for name, slug, n in categories.counts(session)
            ]
        return ctx.pages.render("categories.html.j2", categories=rows)

    return ctx.archive_pages.route(endpoint)


def tip_page(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        with ctx.session() as session:
            entry = archive.find(session, str(request.path_params["slug"]))
            if entry is None:
                return ctx.pages.message(
                    "Tip not found", "There is no tip at this address.", status=404
                )
            body = Markup(archive.body_html(ctx.settings, entry.tip))  # noqa: S704 (escaped by markdown-it, or sanitised by nh3)
            names = [
                {"name": c, "url": ctx.pages.url(f"category/{categories.slug(c)}")}
                for c in entry.tip.categories
            ]
            return ctx.pages.render(
                "tip.html.j2",
                tip=entry.tip,
                date=send_date_text(entry.day),
                body_html=body,
                categories=names,
            )

    return ctx.archive_pages.route(endpoint)


def media(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        path = images.media_file(ctx.settings, str(request.path_params["path"]))
        if path is None or not path.is_file():
            return ctx.pages.message("Not found", "There is no file at this address.", status=404)
        return FileResponse(path)

    return endpoint


def feed(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        s = ctx.settings
        zone = ZoneInfo(s.schedule.timezone)
        hour, minute = (int(x) for x in s.schedule.time.split(":"))
        rss = ET.Element("rss", version="2.0")
        channel = ET.SubElement(rss, "channel")
        ET.SubElement(channel, "title").text = s.newsletter.name
        ET.SubElement(channel, "link").text = ctx.pages.absolute("archive")
        ET.SubElement(
            channel, "description"
        ).text = f"{s.newsletter.name} from {s.newsletter.from_name}"
        with ctx.session() as session:
            for entry, sent_at in archive.latest(session, 20):
                item = ET.SubElement(channel, "item")
                link = ctx.pages.absolute(f"archive/{entry.tip.slug}")
                ET.SubElement(item, "title").text = entry.tip.title
                ET.SubElement(item, "link").text = link
                ET.SubElement(item, "guid", isPermaLink="true").text = link
                ET.SubElement(item, "description").text = archive.excerpt(entry.tip)
                when = sent_at.astimezone(zone) if sent_at else None
                when = when or datetime.combine(entry.day, time(hour, minute), zone)
                ET.SubElement(item, "pubDate").text = format_datetime(when)
                for name in entry.tip.categories:
                    ET.SubElement(item, "category").text = name
        body = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
        return Response(body, media_type="application/rss+xml; charset=utf-8")

    return ctx.archive_pages.route(endpoint)
