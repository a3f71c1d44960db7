"""The archive's pages come from memory until the archive changes, unchanged to the byte, with
ETags that make a repeated visit a 304."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from newsletter.web import create_app
from newsletter.web.pagecache import PageCache
from tests.archivegen import FIXTURE
from tests.conftest import Project, tip_text

PAGES = ["/archive", "/archive?page=2", "/archive?q=customer", "/categories", "/feed.xml"]
TIP = "/archive/read-the-room-before-you-answer"


@pytest.fixture
def imported(project: Project) -> Project:
    assert project.run("archive", "import", str(FIXTURE)).exit_code == 0
    return project


@pytest.fixture
def app(imported: Project) -> Starlette:
    return create_app(imported.settings, imported.engine)


@pytest.fixture
def web(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://tips.example.com") as client:
        yield client


def test_a_kept_page_is_the_rendered_page_to_the_byte(imported: Project, app: Starlette) -> None:
    with TestClient(app) as client:
        first = {path: client.get(path) for path in [*PAGES, TIP]}
        again = {path: client.get(path) for path in [*PAGES, TIP]}
    # A fresh app over the same database renders every page anew.
    with TestClient(create_app(imported.settings, imported.engine)) as client:
        fresh = {path: client.get(path) for path in [*PAGES, TIP]}
    for path, answer in first.items():
        assert answer.status_code == 200, path
        for other in (again[path], fresh[path]):
            assert other.content == answer.content, path
            assert other.headers.items() == answer.headers.items(), path
        assert answer.headers["etag"].startswith('"')
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_conditional_get_is_a_304_with_the_same_headers(web: TestClient) -> None:
    page = web.get("/archive?page=2")
    etag = page.headers["etag"]
    again = web.get("/archive?page=2", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    for header in ("content-security-policy", "referrer-policy", "x-frame-options"):
        assert again.headers[header] == page.headers[header]
    assert (
        web.get("/archive?page=2", headers={"if-none-match": f'"x", W/{etag}'}).status_code == 304
    )
    assert web.get("/archive?page=2", headers={"if-none-match": '"other"'}).status_code == 200
    assert web.get("/archive", headers={"if-none-match": etag}).status_code == 200, (
        "another page's tag"
    )


def test_an_edit_shows_once_the_archive_is_checked_again(
    imported: Project, app: Starlette, web: TestClient
) -> None:
    before = web.get("/archive")
    imported.write("tips/new.md", tip_text("Be Patient", "Slow down.", date="2026-03-03"))
    assert imported.run("tips", "add", "tips/new.md").exit_code == 0
    app.state.context.archive_pages.expire()  # as if the next second had come
    after = web.get("/archive")
    assert "Be Patient" in after.text
    assert "Be Patient" not in before.text
    assert after.headers["etag"] != before.headers["etag"]
    assert web.get("/archive", headers={"if-none-match": before.headers["etag"]}).status_code == 200


def test_edits_of_a_back_issue_show_on_its_page(
    imported: Project, app: Starlette, web: TestClient
) -> None:
    imported.write("tips/poem.md", tip_text("A Holiday Poem", "New words.", date="2025-12-20"))
    assert web.get("/archive/a-holiday-poem").status_code == 404
    assert imported.run("tips", "add", "tips/poem.md").exit_code == 0
    app.state.context.archive_pages.expire()
    assert "New words." in web.get("/archive/a-holiday-poem").text
    imported.write("tips/poem.md", tip_text("A Holiday Poem", "Better words.", date="2025-12-20"))
    assert imported.run("tips", "update", "a-holiday-poem").exit_code == 0
    app.state.context.archive_pages.expire()
    page = web.get("/archive/a-holiday-poem").text
    assert "Better words." in page
    assert "New words." not in page


def test_bad_and_missing_pages_are_never_kept(web: TestClient) -> None:
    for _ in range(2):
        assert web.get("/archive?page=abc").status_code == 400
        assert web.get("/archive?page=999").status_code == 404
        assert web.get("/archive/no-such-tip").status_code == 404
        assert "etag" not in web.get("/archive/no-such-tip").headers


# ---- the cache itself, with a clock and a version of the test's own --------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def counting_app(cache: PageCache, size: int = 100) -> tuple[Starlette, list[str]]:
    rendered: list[str] = []

    def page(request: Request) -> Response:
        rendered.append(request.url.path)
        return HTMLResponse(f"<p>{request.url.path}</p>".ljust(size, " "))

    return Starlette(routes=[Route("/{name}", cache.route(page))]), rendered


def test_the_version_is_read_at_most_once_a_second() -> None:
    clock, version, reads = Clock(), ["v1"], []

    def read_version() -> str:
        reads.append(version[0])
        return version[0]

    cache = PageCache(read_version, clock=clock)
    app, rendered = counting_app(cache)
    with TestClient(app) as client:
        for _ in range(5):
            client.get("/a")
        assert (len(reads), rendered) == (1, ["/a"])
        version[0] = "v2"
        clock.now += 0.5
        client.get("/a")
        assert (len(reads), rendered) == (1, ["/a"]), "within the second: still the kept page"
        clock.now += 0.5
        client.get("/a")
        assert (len(reads), rendered) == (2, ["/a", "/a"]), "checked again, changed, rendered"
        clock.now += 5
        client.get("/a")
        assert (len(reads), rendered) == (3, ["/a", "/a"]), "checked again, unchanged"


def test_the_cache_holds_at_most_its_size() -> None:
    cache = PageCache(lambda: "v1", max_bytes=10_000)
    app, rendered = counting_app(cache, size=1_000)
    with TestClient(app) as client:
        for i in range(30):
            client.get(f"/p{i}")
        client.get("/p29")
        client.get("/p0")
    assert rendered.count("/p29") == 1, "recent pages stay"
    assert rendered.count("/p0") == 2, "the oldest went first"
    assert 9_000 <= cache.held_bytes <= 10_000
