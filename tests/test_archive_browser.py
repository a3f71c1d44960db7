"""The archive of 1,200 imported back issues in a real browser (headless Debian chromium)
against a real `newsletter serve`: page 2, a category page, a search."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.archivegen import many_items, wxr
from tests.browser import chromium
from tests.conftest import Project
from tests.test_web_browser import served, shoot

__all__ = ["served"]  # the fixture, shared with the other browser tests


@pytest.mark.slow
def test_page_2_a_category_and_a_search_of_1200_back_issues(
    served: tuple[Project, str], tmp_path: Path
) -> None:
    project, base = served
    export = tmp_path / "export.xml"
    export.write_text(wxr(many_items(1200)), encoding="utf-8")
    imported = project.run("archive", "import", str(export))
    assert imported.exit_code == 0, imported.output
    assert "1200 back issues archived" in imported.stdout
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 900, "height": 900})  # type: ignore[attr-defined]
        page.goto(f"{base}/archive")
        page.get_by_role("link", name="Page 2", exact=True).click()
        page.wait_for_url(f"{base}/archive?page=2")
        assert page.title().endswith("- Page 2")
        assert page.get_by_role(
            "heading", name="Customer Service Tip of the Week Page 2"
        ).is_visible()
        assert page.locator("article.entry").count() == 10
        assert page.get_by_text("- 11/18/25").is_visible(), "the 11th newest, dated as before"
        assert page.locator("nav.pager").get_by_text("120").is_visible(), "120 pages"
        shoot(page, tmp_path, "archive-page-2")

        page.get_by_role("link", name="All categories").click()
        page.get_by_role("heading", name="Categories").wait_for()
        page.get_by_role("link", name="empathy", exact=True).click()
        page.get_by_role("heading", name="Category: empathy").wait_for()
        assert page.locator("article.entry").count() == 10
        shoot(page, tmp_path, "category")

        page.get_by_label("Search the tips").fill("facial recognition")
        page.get_by_role("button", name="Search").click()
        page.get_by_role("heading", name="tips for “facial recognition”").wait_for()
        first = page.locator("article.entry h2 a").first
        assert first.inner_text().startswith("Facial Recognition is the Future of Customer Service")
        shoot(page, tmp_path, "search")
        first.click()
        page.get_by_role(
            "heading", name="Facial Recognition is the Future of Customer Service"
        ).first.wait_for()
        assert page.get_by_text("Signup for FREE Tips!").count() == 1, "only our own footer link"
