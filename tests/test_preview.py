"""`newsletter preview`: the email as a subscriber gets it, in a terminal and in a browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import time_machine

from tests.browser import chromium
from tests.conftest import Project, tip_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def queued(project: Project) -> Project:
    project.write(
        "tips/a.md",
        tip_text(
            "Pass the Quick Impression Test",
            "First impressions are quick. They matter.\n\n- **Smile**: it shows.",
            takeaway="Make the first second count.",
        ),
    )
    project.write(
        "tips/b.md", tip_text("Delight Your Customers", "Buddy the Bug Man was different.")
    )
    assert project.run("tips", "add", "tips/a.md", "tips/b.md").exit_code == 0
    return project


@time_machine.travel("2026-11-23 14:00:00+00:00", tick=False)
def test_preview_prints_the_next_tip_dated_for_the_next_send(queued: Project) -> None:
    result = queued.run("preview")
    assert result.exit_code == 0, result.output
    assert "<title>Pass the Quick Impression Test</title>" in result.stdout
    assert "Tuesday, November 24, 2026" in result.stdout
    text = queued.run("preview", "delight-your-customers", "--text", "--name", "Ann")
    assert text.stdout.startswith("Customer Service Tip of the Week\n")
    assert "Delight Your Customers\nTuesday, December 1, 2026\n\nHi Ann," in text.stdout, (
        "a named tip is dated for the week the calendar plans it"
    )


def test_preview_writes_a_file_and_changes_nothing(queued: Project) -> None:
    before = queued.snapshot()
    result = queued.run("preview", "--output", "out.html")
    assert result.exit_code == 0
    assert (
        result.stdout.strip()
        == "wrote out.html (subject: Pass the Quick Impression Test | Customer Service Tip of the Week)"
    )
    assert "Make the first second count." in (queued.dir / "out.html").read_text()
    assert queued.snapshot() == before
    assert json.loads(queued.run("tips", "list", "--json").stdout)[0]["status"] == "queued"


def test_preview_of_an_empty_queue(project: Project) -> None:
    result = project.run("preview")
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == "error: the queue is empty: add a tip with `newsletter tips add FILE`, or name one"
    )


@pytest.mark.slow
def test_preview_looks_right_in_a_real_browser_at_600_and_375_px(
    queued: Project, tmp_path: Path
) -> None:
    assert queued.run("preview", "--output", str(tmp_path / "preview.html")).exit_code == 0
    with chromium() as browser:
        for width in (600, 375):
            page = browser.new_page(viewport={"width": width, "height": 800})  # type: ignore[attr-defined]
            page.goto((tmp_path / "preview.html").as_uri())
            shot = tmp_path / f"preview-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            assert page.get_by_role("heading", name="Pass the Quick Impression Test").is_visible()
            unsubscribe = page.get_by_role("link", name="Unsubscribe")
            assert unsubscribe.is_visible()
            assert unsubscribe.get_attribute("href") == "https://tips.example.com/u/preview"
            # Nothing wider than the screen: the layout folds to the phone's width.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.close()


def html_validate() -> str | None:
    local = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "html-validate"
    return str(local) if local.exists() else shutil.which("html-validate")


def test_the_email_html_passes_html_validate(queued: Project, tmp_path: Path) -> None:
    tool = html_validate()
    if tool is None:
        pytest.skip("html-validate is not installed (.ci/run installs it with npm)")
    page = tmp_path / "email.html"
    assert queued.run("preview", "--output", str(page)).exit_code == 0
    config = ROOT / "tests" / "htmlvalidate.json"
    result = subprocess.run(
        [tool, "--config", str(config), str(page)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
