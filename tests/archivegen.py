"""WordPress exports (WXR 1.2) shaped like our first user's site, for tests and the bench.

``python -m tests.archivegen fixture`` rewrites tests/data/wordpress-export.xml (a few dozen
posts, plus attachments, a page, a draft and a private post that an import must leave out);
``python -m tests.archivegen many 1200 FILE`` writes a 1,200-post export for the browser test
and bench/archive.py. Every post ends with the old site's "Signup for FREE Tips!" footer.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from newsletter.tips import slugify
from tests.seedtext import LISTED, WHOLE

SITE = "https://www.customerservicesolutions.example"
FIXTURE = Path(__file__).parent / "data" / "wordpress-export.xml"
FOOTER = (
    "&nbsp;\n\n"
    f'<a href="{SITE}/signup/">Signup for FREE Tips!</a>    '
    f'<a href="{SITE}/contact-us/">Contact Us</a>    '
    f'<a href="{SITE}/resources/">More Resources for You</a>    '
    f'<a href="{SITE}/">Visit Our Home Page</a>\n\n&nbsp;'
)
TIP_OF_THE_WEEK = "Customer Service Tip of the Week"
CATEGORY_NAMES = [
    "empathy",
    "Phone Skills",
    "complaints",
    "teamwork",
    "listening",
    "first impressions",
    "leadership",
    "responsiveness",
    "e-mail",
    "holidays",
    "attitude",
    "Q&A? #1 / Tricky Calls",
]


@dataclass
class Item:
    title: str
    day: date
    content: str
    categories: list[str] = field(default_factory=list)
    post_type: str = "post"
    status: str = "publish"
    slug: str | None = None
    attachment_url: str = ""


def seed_date(text: str) -> date:
    """``1/27/26`` → 2026-01-27."""
    return datetime.strptime(text, "%m/%d/%y").date()


def fixture_items() -> list[Item]:
    """The few dozen posts of tests/data/wordpress-export.xml, and what must be left out."""
    items = [
        Item(t, seed_date(d), body + "\n\n" + FOOTER, [TIP_OF_THE_WEEK, "empathy"])
        for t, d, body in WHOLE
    ]
    for i, (title, d, opening) in enumerate(LISTED):
        category = CATEGORY_NAMES[i % 4]
        content = f"{opening}\n\nTry it this week.\n\n{FOOTER}"
        if title == "2025 Holiday Poem":
            content = (
                "We hear the word change\nAnd that change can be good,\n"
                "But we like things to stay same,\nAnd sometimes they should.\n\n" + FOOTER
            )
            category = "holidays"
        items.append(Item(title, seed_date(d), content, [TIP_OF_THE_WEEK, category]))
    items += [
        Item(
            "Read the Room Before You Answer",
            date(2013, 5, 7),
            "Water is H<sub>2</sub>O and the <u>first</u> rule is to listen.\n\n"
            '<table><tr><td colspan="2">Before the call</td></tr>'
            "<tr><td>Listen</td><td>Then answer</td></tr></table>\n\n"
            '<img class="aligncenter" src="https://www.customerservicesolutions.example/'
            'wp-content/uploads/2013/05/room.jpg" alt="A meeting room" width="300" height="200" />'
            "\n\n"
            '<iframe width="560" height="315" src="https://www.youtube.com/embed/abc123">'
            "</iframe>\n\n"
            '<script>alert("old widget")</script>'
            '<a href="javascript:alert(1)" onclick="steal()">An old link</a> still reads fine.'
            "\n\n" + FOOTER,
            [TIP_OF_THE_WEEK, "Q&A? #1 / Tricky Calls", "Phone Skills"],
        ),
        Item(
            "Hold Music Is Not a Strategy",
            date(2013, 4, 30),
            "Nobody ever said “what lovely hold music.” Tell them how long the wait will be."
            "\n\n" + FOOTER,
            ["Uncategorized", "phone skills"],
        ),
        Item(
            "room.jpg",
            date(2013, 5, 7),
            "",
            post_type="attachment",
            status="inherit",
            attachment_url=f"{SITE}/wp-content/uploads/2013/05/room.jpg",
        ),
        Item(
            "logo.png",
            date(2013, 1, 2),
            "",
            post_type="attachment",
            status="inherit",
            attachment_url=f"{SITE}/wp-content/uploads/2013/01/logo.png",
        ),
        Item("About Us", date(2012, 12, 1), "We help organisations serve.", post_type="page"),
        Item(
            "A Draft That Never Went Out",
            date(2026, 2, 1),
            "Not ready yet.",
            [TIP_OF_THE_WEEK],
            status="draft",
            slug="",
        ),
        Item(
            "Private Notes", date(2020, 1, 1), "Only for us.", [TIP_OF_THE_WEEK], "post", "private"
        ),
    ]
    return items


def many_items(count: int) -> list[Item]:
    """``count`` published weekly posts going back from 1/27/26, bodies from the seeds."""
    bodies = [body for _, _, body in WHOLE] + [f"{opening}\n\nTry it." for _, _, opening in LISTED]
    titles = [t for t, _, _ in WHOLE] + [t for t, _, _ in LISTED]
    items = []
    for n in range(count):
        cycle, k = divmod(n, len(titles))
        title = titles[k] if cycle == 0 else f"{titles[k]}, Take {cycle + 1}"
        categories = [TIP_OF_THE_WEEK, CATEGORY_NAMES[n % len(CATEGORY_NAMES)]]
        day = date(2026, 1, 27) - timedelta(weeks=n)
        items.append(Item(title, day, bodies[k] + "\n\n" + FOOTER, categories))
    return items


def wxr(items: list[Item]) -> str:
    """A WordPress eXtended RSS 1.2 export of ``items``."""
    names = sorted({c for item in items for c in item.categories})
    head = f"""<?xml version="1.0" encoding="UTF-8" ?>
<!-- This is a WordPress eXtended RSS file generated by WordPress as an export of your site. -->
<!-- generator="WordPress/6.4.2" created="2026-02-01 15:04" -->
<rss version="2.0"
	xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:wp="http://wordpress.org/export/1.2/"
>

<channel>
	<title>Customer Service Solutions, Inc.</title>
	<link>{SITE}</link>
	<description>Customer Service Tip of the Week</description>
	<pubDate>Sun, 01 Feb 2026 15:04:11 +0000</pubDate>
	<language>en-US</language>
	<wp:wxr_version>1.2</wp:wxr_version>
	<wp:base_site_url>{SITE}</wp:base_site_url>
	<wp:base_blog_url>{SITE}</wp:base_blog_url>

	<wp:author><wp:author_id>1</wp:author_id><wp:author_login><![CDATA[cssadmin]]></wp:author_login><wp:author_email><![CDATA[web@customerservicesolutions.example]]></wp:author_email><wp:author_display_name><![CDATA[Customer Service Solutions]]></wp:author_display_name><wp:author_first_name><![CDATA[]]></wp:author_first_name><wp:author_last_name><![CDATA[]]></wp:author_last_name></wp:author>

"""
    categories = "".join(
        f"\t<wp:category><wp:term_id>{i}</wp:term_id><wp:category_nicename><![CDATA[{slugify(n)}]]>"
        f"</wp:category_nicename><wp:category_parent><![CDATA[]]></wp:category_parent>"
        f"<wp:cat_name><![CDATA[{n}]]></wp:cat_name></wp:category>\n"
        for i, n in enumerate(names, start=2)
    )
    body = "".join(_item(i, item) for i, item in enumerate(items, start=100))
    return (
        head
        + categories
        + "\n\t<generator>https://wordpress.org/?v=6.4.2</generator>\n"
        + body
        + "</channel>\n</rss>\n"
    )


def _item(post_id: int, item: Item) -> str:
    slug = slugify(item.title) if item.slug is None else item.slug
    stamp = datetime.combine(item.day, datetime.min.time()).replace(hour=9)
    gmt = stamp + timedelta(hours=5)
    link = f"{SITE}/{slug}/" if slug else f"{SITE}/?p={post_id}"
    cats = "".join(
        f'\t\t<category domain="category" nicename="{slugify(c)}"><![CDATA[{c}]]></category>\n'
        for c in item.categories
    )
    attachment = (
        f"\t\t<wp:attachment_url><![CDATA[{item.attachment_url}]]></wp:attachment_url>\n"
        if item.attachment_url
        else ""
    )
    return f"""	<item>
		<title><![CDATA[{item.title}]]></title>
		<link>{link}</link>
		<pubDate>{gmt:%a, %d %b %Y %H:%M:%S} +0000</pubDate>
		<dc:creator><![CDATA[cssadmin]]></dc:creator>
		<guid isPermaLink="false">{SITE}/?p={post_id}</guid>
		<description></description>
		<content:encoded><![CDATA[{item.content}]]></content:encoded>
		<excerpt:encoded><![CDATA[]]></excerpt:encoded>
		<wp:post_id>{post_id}</wp:post_id>
		<wp:post_date><![CDATA[{stamp:%Y-%m-%d %H:%M:%S}]]></wp:post_date>
		<wp:post_date_gmt><![CDATA[{gmt:%Y-%m-%d %H:%M:%S}]]></wp:post_date_gmt>
		<wp:post_modified><![CDATA[{stamp:%Y-%m-%d %H:%M:%S}]]></wp:post_modified>
		<wp:post_modified_gmt><![CDATA[{gmt:%Y-%m-%d %H:%M:%S}]]></wp:post_modified_gmt>
		<wp:comment_status><![CDATA[open]]></wp:comment_status>
		<wp:ping_status><![CDATA[open]]></wp:ping_status>
		<wp:post_name><![CDATA[{slug}]]></wp:post_name>
		<wp:status><![CDATA[{item.status}]]></wp:status>
		<wp:post_parent>0</wp:post_parent>
		<wp:menu_order>0</wp:menu_order>
		<wp:post_type><![CDATA[{item.post_type}]]></wp:post_type>
		<wp:post_password><![CDATA[]]></wp:post_password>
		<wp:is_sticky>0</wp:is_sticky>
{attachment}{cats}		<wp:postmeta>
			<wp:meta_key><![CDATA[_edit_last]]></wp:meta_key>
			<wp:meta_value><![CDATA[1]]></wp:meta_value>
		</wp:postmeta>
	</item>
"""


def main() -> None:
    if sys.argv[1:2] == ["fixture"]:
        FIXTURE.write_text(wxr(fixture_items()), encoding="utf-8")
    elif sys.argv[1:2] == ["many"] and len(sys.argv) == 4:
        Path(sys.argv[3]).write_text(wxr(many_items(int(sys.argv[2]))), encoding="utf-8")
    else:
        raise SystemExit("usage: python -m tests.archivegen fixture | many N FILE")


if __name__ == "__main__":
    main()
