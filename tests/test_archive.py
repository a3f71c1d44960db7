"""Back issues from a WordPress export or a feed, and the public archive over them: numbered
pages, categories, search, feed, media, and every bad query parameter."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from newsletter import db
from newsletter.editions import open_edition
from newsletter.web import create_app
from newsletter.weeks import IsoWeek
from tests.archivegen import FIXTURE, many_items, wxr
from tests.conftest import Project, tip_text

PUBLISHED = 28  # posts with status "publish" in tests/data/wordpress-export.xml


@pytest.fixture
def imported(project: Project) -> Project:
    result = project.run("archive", "import", str(FIXTURE))
    assert result.exit_code == 0, result.output
    return project


@pytest.fixture
def web(imported: Project) -> Iterator[TestClient]:
    with TestClient(create_app(imported.settings, imported.engine), base_url="https://x.test") as c:
        yield c


def tip(project: Project, slug: str) -> dict[str, object]:
    return next(t for t in project.rows("tips") if t["slug"] == slug)


# ---- the import ---------------------------------------------------------------------------------


def test_a_wordpress_export_becomes_archived_tips(project: Project) -> None:
    result = project.run("archive", "import", str(FIXTURE))
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "left out (not published posts): 2 attachment, 1 draft, 1 page, 1 private" in out
    assert f"{PUBLISHED} back issues archived, Tue Apr 30, 2013 to Tue Jan 27, 2026" in out
    rows = project.rows("tips")
    assert len(rows) == PUBLISHED
    assert {r["status"] for r in rows} == {"archived"}
    assert all(r["position"] is None for r in rows), "never queued, never emailed"
    empathy = tip(project, "use-the-actions-of-empathy")
    assert str(empathy["published_on"]) == "2019-04-09"
    assert empathy["title"] == "Use the Actions of Empathy"
    assert empathy["categories"] == ["customer service tip of the week", "empathy"]
    body = str(empathy["body_md"])
    assert "- **Stop** – Stop what you’re doing" in body
    assert body.rstrip().endswith("S.E.N.D. the right message. Convey empathy with your actions.")
    for footer_word in ("Signup for FREE Tips!", "Contact Us", "Visit Our Home Page", "&nbsp;"):
        assert all(footer_word not in str(r["body_md"]) for r in rows), footer_word
    poem = str(tip(project, "2025-holiday-poem")["body_md"])
    assert poem.startswith("We hear the word change\\\nAnd that change can be good,\\\n")
    hold = tip(project, "hold-music-is-not-a-strategy")
    assert hold["categories"] == ["phone skills"], "'Uncategorized' dropped, names folded"


def test_unconvertible_html_is_kept_safe(imported: Project) -> None:
    body = str(tip(imported, "read-the-room-before-you-answer")["body_md"])
    assert "H<sub>2</sub>O" in body and "<u>first</u>" in body
    assert '<td colspan="2">Before the call</td>' in body
    assert "[Watch the video](https://www.youtube.com/embed/abc123)" in body
    assert "![A meeting room](https://www.customerservicesolutions.example/" in body
    assert "<script" not in body and "alert" not in body and "onclick" not in body
    assert "An old link still reads fine." in body


def test_running_the_import_again_adds_nothing(imported: Project) -> None:
    before = imported.snapshot()
    again = imported.run("archive", "import", str(FIXTURE))
    assert again.exit_code == 0
    assert f"{PUBLISHED} already present" in again.stdout
    assert "0 back issues archived" in again.stdout
    assert imported.snapshot() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not xml at all", "not XML (line 1, column 1): syntax error; nothing imported"),
        (b"<rss><channel><item>", "not XML (line 1, column 21): no element found"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            b"<rss><channel><title>&lol2;</title></channel></rss>",
            "refused: the XML declares a DTD or entities (DTDForbidden)",
        ),
        (b"<html><body>hello</body></html>", "not a WordPress export or an RSS/Atom feed"),
    ],
)
def test_a_bad_file_is_one_clear_error_and_nothing_changes(
    imported: Project, content: bytes, message: str
) -> None:
    bad = imported.write("bad.xml", content)
    before = imported.snapshot()
    result = imported.run("archive", "import", str(bad))
    assert result.exit_code == 1
    assert result.stderr.count("error:") == 1
    assert message in result.stderr
    assert f"{bad}:" in result.stderr
    assert "Traceback" not in result.output
    assert imported.snapshot() == before


def test_an_rss_or_atom_feed_imports_too(project: Project) -> None:
    rss = project.write(
        "feed.xml",
        """<?xml version="1.0"?><rss version="2.0"><channel><title>Old</title>
        <item><title>Delight Your Customers</title>
        <link>https://old.example.com/2024/10/22/delight-your-customers/</link>
        <pubDate>Tue, 22 Oct 2024 13:00:00 +0000</pubDate><category>Service</category>
        <description><![CDATA[<p>Buddy the Bug Man was different.</p>
        <p><a href="https://old.example.com/signup">Signup for FREE Tips!</a></p>]]></description>
        </item></channel></rss>""",
    )
    atom = project.write(
        "atom.xml",
        """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
        <title>Old</title><id>urn:x</id><updated>2024-10-29T12:00:00Z</updated>
        <entry><title>Fix One Problem without Creating Another</title><id>urn:y</id>
        <link href="https://old.example.com/fix-one-problem/"/>
        <published>2024-10-29T12:00:00Z</published><updated>2024-10-29T12:00:00Z</updated>
        <content type="html">&lt;p&gt;Dishwashers always have an issue.&lt;/p&gt;</content>
        </entry></feed>""",
    )
    assert project.run("archive", "import", str(rss)).exit_code == 0
    assert project.run("archive", "import", str(atom)).exit_code == 0
    delight = tip(project, "delight-your-customers")
    assert str(delight["published_on"]) == "2024-10-22"
    assert delight["body_md"] == "Buddy the Bug Man was different.\n"
    assert delight["categories"] == ["service"]
    assert str(tip(project, "fix-one-problem")["published_on"]) == "2024-10-29"


# ---- the archive --------------------------------------------------------------------------------


def titles(page: str) -> list[str]:
    return [t.split('">', 1)[1].split("</a>")[0] for t in page.split('<h2><a href="')[1:]]


def test_numbered_pages_newest_first_as_on_the_old_site(web: TestClient) -> None:
    first = web.get("/archive")
    assert first.status_code == 200
    assert titles(first.text)[:2] == [
        "When They Want the Supervisor",
        "Identify Your Point of Empathy",
    ]
    assert "- 1/27/26" in first.text
    third = web.get("/archive?page=3")
    assert (
        "<title>Customer Service Tip of the Week | Customer Service Solutions, Inc. - Page 3</title>"
        in (third.text)
    )
    assert '<span aria-current="page">3</span>' in third.text
    assert titles(third.text)[-1] == "Hold Music Is Not a Strategy", "the oldest, last"
    assert web.get("/archive?page=4").status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "page=%C2%B2",
        "page=0",
        "page=-1",
        "page=99999999999999999999",
        "page=abc",
        "page=1.5",
        "page=",
        "q=" + "x" * 10_240,
        "q=" + "x" * 201,
    ],
)
def test_a_bad_query_parameter_is_a_400_never_a_500(web: TestClient, query: str) -> None:
    for path in ("/archive", "/category/empathy"):
        if path != "/archive" and query.startswith("q="):
            continue
        answer = web.get(f"{path}?{query}")
        assert answer.status_code == 400, (path, query)
        assert "Traceback" not in answer.text


def test_unknown_parameters_are_ignored(web: TestClient) -> None:
    assert web.get("/archive?utm_source=x&page=2&page=1").status_code == 200


def test_categories_page_counts_and_clean_addresses(web: TestClient) -> None:
    index = web.get("/categories")
    assert index.status_code == 200
    assert '<a href="/category/empathy">empathy</a> <span class="count">(11)</span>' in index.text
    assert 'href="/category/q-a-1-tricky-calls"' in index.text
    odd = web.get("/category/q-a-1-tricky-calls")
    assert odd.status_code == 200
    assert "Category: q&amp;a? #1 / tricky calls" in odd.text
    assert titles(odd.text) == ["Read the Room Before You Answer"]
    old = web.get("/category/Phone%20Skills", follow_redirects=False)
    assert old.status_code == 301
    assert old.headers["location"] == "https://tips.example.com/category/phone-skills"
    assert web.get("/category/no-such-thing").status_code == 404


def test_search_finds_titles_and_bodies(web: TestClient) -> None:
    found = web.get("/archive", params={"q": "supervisor"})
    assert found.status_code == 200
    assert titles(found.text)[0] == "When They Want the Supervisor"
    stems = web.get("/archive", params={"q": "Recognition FUTURE"})
    assert titles(stems.text) == ["Facial Recognition is the Future of Customer Service"]
    body_only = web.get("/archive", params={"q": "dishwashers"})
    assert titles(body_only.text) == ["Fix One Problem without Creating Another"]
    junk = web.get("/archive", params={"q": '"* OR NEAR( -title: ^'})
    assert junk.status_code == 200, "operators are plain words to us"
    none = web.get("/archive", params={"q": "xylophone"})
    assert "0 tips for" in none.text and "Try fewer words" in none.text


def test_search_pages_and_only_public_tips(imported: Project, web: TestClient) -> None:
    imported.write("tips/q.md", tip_text("Queued Customer Secret", "A customer secret."))
    imported.run("tips", "add", "tips/q.md")
    first = web.get("/archive", params={"q": "customer"})
    assert "Queued Customer Secret" not in first.text
    assert "Older tips" in first.text
    assert web.get("/archive", params={"q": "customer", "page": "2"}).status_code == 200


def test_trailing_slash_redirects_from_base_url_not_the_host(web: TestClient) -> None:
    answer = web.get("/archive/?page=2", headers={"Host": "evil.example"}, follow_redirects=False)
    assert answer.status_code == 308
    assert answer.headers["location"] == "https://tips.example.com/archive?page=2"
    tip_page = web.get("/archive/2025-holiday-poem/", follow_redirects=False)
    assert tip_page.headers["location"] == "https://tips.example.com/archive/2025-holiday-poem"
    assert web.get("/nowhere/", follow_redirects=False).status_code == 404


def test_a_back_issue_page_shows_kept_html_safely(web: TestClient) -> None:
    page = web.get("/archive/read-the-room-before-you-answer")
    assert page.status_code == 200
    assert "H<sub>2</sub>O" in page.text
    assert '<td colspan="2">Before the call</td>' in page.text
    assert "Tuesday, May 7, 2013" in page.text
    assert 'href="/category/q-a-1-tricky-calls"' in page.text
    assert "<script" not in page.text.split("<main", 1)[1]


def test_sent_and_archived_tips_share_the_archive_and_feed_by_date(
    imported: Project, web: TestClient
) -> None:
    imported.write("tips/new.md", tip_text("Be Patient", "Slow down.", categories="[empathy]"))
    imported.run("tips", "add", "tips/new.md")
    at = dt.datetime(2026, 2, 3, 14, 0, tzinfo=dt.UTC)
    open_edition(db.session_factory(imported.engine), imported.settings, IsoWeek(2026, 6), now=at)
    assert titles(web.get("/archive").text)[0] == "Be Patient"
    root = ET.fromstring(web.get("/feed.xml").content)  # noqa: S314 (our own feed)
    items = root.findall("channel/item")
    assert [i.findtext("title") for i in items[:2]] == [
        "Be Patient",
        "When They Want the Supervisor",
    ]
    assert items[0].findtext("pubDate") == "Tue, 03 Feb 2026 09:00:00 -0500"
    assert items[1].findtext("pubDate") == "Tue, 27 Jan 2026 09:00:00 -0500"


def test_media_files_are_served_and_nothing_outside(imported: Project, web: TestClient) -> None:
    (imported.dir / "media").mkdir()
    (imported.dir / "media" / "chart.png").write_bytes(b"\x89PNG fake")
    ok = web.get("/media/chart.png")
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "image/png"
    for path in ("/media/../config.toml", "/media/%2e%2e/config.toml", "/media/", "/media/x.png"):
        assert web.get(path).status_code == 404, path
    assert "postal_address" not in web.get("/media/..%2fconfig.toml").text


def test_a_generated_archive_of_many_tips(project: Project, tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    big.write_text(wxr(many_items(60)), encoding="utf-8")
    result = project.run("archive", "import", str(big))
    assert result.exit_code == 0, result.output
    assert "60 back issues archived" in result.stdout
    with TestClient(create_app(project.settings, project.engine)) as client:
        assert "Page 6" in client.get("/archive?page=6").text
        assert client.get("/archive?page=7").status_code == 404
