"""The public archive: /archive, /archive/<slug>, /category/<name>, /feed.xml."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, time
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from newsletter import archive
from newsletter.render import markdown, send_date_text
from newsletter.web.context import WebContext


def _listing(ctx: WebContext, request: Request, category: str | None) -> Response:
    raw = request.query_params.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        return ctx.pages.message("Page not found", "There is no such page.", status=404)
    number = int(raw)
    with ctx.session() as session:
        items = archive.entries(session, ctx.settings, category)
        shown, more = archive.page(items, number)
        if number > 1 and not shown:
            return ctx.pages.message("Page not found", "There is no such page.", status=404)
        path = f"category/{category}" if category else "archive"
        rows = [
            {
                "title": e.tip.title,
                "url": ctx.pages.url(f"archive/{e.tip.slug}"),
                "short_date": e.short_date,
                "excerpt": archive.excerpt(e.tip),
            }
            for e in shown
        ]
    return ctx.pages.render(
        "archive.html.j2",
        items=rows,
        page=number,
        category=category,
        newer_url=ctx.pages.url(f"{path}?page={number - 1}") if number > 1 else None,
        older_url=ctx.pages.url(f"{path}?page={number + 1}") if more else None,
    )


def listing(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        return _listing(ctx, request, None)

    return endpoint


def category(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        return _listing(ctx, request, str(request.path_params["name"]).lower())

    return endpoint


def tip_page(ctx: WebContext) -> Any:
    def endpoint(request: Request) -> Response:
        with ctx.session() as session:
            entry = archive.find(session, ctx.settings, str(request.path_params["slug"]))
            if entry is None:
                return ctx.pages.message(
                    "Tip not found", "There is no tip at this address.", status=404
                )
            body = Markup(markdown(ctx.settings.newsletter.allow_html).render(entry.tip.body_md))  # noqa: S704 (escaped by markdown-it)
            categories = [
                {"name": c, "url": ctx.pages.url(f"category/{c}")} for c in entry.tip.categories
            ]
            return ctx.pages.render(
                "tip.html.j2",
                tip=entry.tip,
                date=send_date_text(entry.sent_on),
                body_html=body,
                categories=categories,
            )

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
            for entry in archive.entries(session, s)[:20]:
                item = ET.SubElement(channel, "item")
                link = ctx.pages.absolute(f"archive/{entry.tip.slug}")
                ET.SubElement(item, "title").text = entry.tip.title
                ET.SubElement(item, "link").text = link
                ET.SubElement(item, "guid", isPermaLink="true").text = link
                ET.SubElement(item, "description").text = archive.excerpt(entry.tip)
                when = datetime.combine(entry.sent_on, time(hour, minute), zone)
                ET.SubElement(item, "pubDate").text = format_datetime(when)
                for name in entry.tip.categories:
                    ET.SubElement(item, "category").text = name
        body = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
        return Response(body, media_type="application/rss+xml; charset=utf-8")

    return endpoint
