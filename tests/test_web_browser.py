"""End to end in a real browser: headless chromium against a real `newsletter serve` process."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.browser import chromium
from tests.conftest import Project, free_port, tip_text, wait_for

DOCS = os.environ.get(
    "NEWSLETTER_DOCS_SCREENSHOTS"
)  # set to docs/ to refresh the README's pictures


@pytest.fixture
def served(project: Project) -> Iterator[tuple[Project, str]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    project.config.write_text(
        project.config.read_text().replace(
            'base_url = "https://tips.example.com"', f'base_url = "{base}"'
        )
    )
    env = {**os.environ, "NEWSLETTER_CONFIG": str(project.config), **project.env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "serve", "--port", str(port)],
        cwd=project.dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(f"{base}/healthz")
        yield project, base
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def eml(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def status(project: Project, address: str) -> str:
    return next(str(s["status"]) for s in project.rows("subscribers") if s["email"] == address)


def shoot(page: object, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    assert path.stat().st_size > 5_000
    if DOCS:
        shutil.copy(path, Path(DOCS) / f"web-{name}.png")


@pytest.mark.slow
def test_unsubscribe_from_a_real_email_in_a_real_browser(
    served: tuple[Project, str], tmp_path: Path
) -> None:
    project, _ = served
    project.write(
        "tips/t.md", tip_text("When They Want the Supervisor", "Maybe you did your best.")
    )
    project.run("tips", "add", "tips/t.md")
    project.run("subscribers", "add", "ann.reader@example.com", "--name", "Ann")
    # --yes: once 2026-W48 is past, a first send of it must be confirmed.
    assert project.run("send", "--week", "2026-W48", "--yes").exit_code == 0
    (message_file,) = (project.dir / "outbox" / "2026-W48").glob("[0-9]*.eml")
    link = str(eml(message_file)["List-Unsubscribe"]).strip().strip("<>")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 800, "height": 700})  # type: ignore[attr-defined]
        page.goto(link)
        assert page.get_by_role("heading", name="Unsubscribe?").is_visible()
        assert page.get_by_text("a*********@example.com").is_visible()
        shoot(page, tmp_path, "unsubscribe")
        assert status(project, "ann.reader@example.com") == "active", (
            "opening the link changes nothing"
        )
        page.get_by_role("button", name="Unsubscribe").click()
        page.get_by_role("heading", name="You are unsubscribed").wait_for()
        shoot(page, tmp_path, "unsubscribed")
        assert status(project, "ann.reader@example.com") == "unsubscribed"
        page.get_by_role("button", name="Resubscribe").click()
        page.get_by_role("heading", name="Welcome back").wait_for()
        assert status(project, "ann.reader@example.com") == "active"


@pytest.mark.slow
def test_signup_and_confirm_in_a_real_browser(served: tuple[Project, str], tmp_path: Path) -> None:
    project, base = served
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 800, "height": 700})  # type: ignore[attr-defined]
        page.goto(f"{base}/signup")
        shoot(page, tmp_path, "signup")
        page.get_by_label("Email address").fill("new.reader@example.com")
        page.get_by_label("First name").fill("Nia")
        page.get_by_role("button", name="Sign me up").click()
        page.get_by_role("heading", name="Check your inbox").wait_for()
        assert status(project, "new.reader@example.com") == "pending"
        (mail,) = (project.dir / "outbox" / "confirmations").glob("*.eml")
        text = eml(mail).get_body(("plain",)).get_content()  # type: ignore[union-attr]
        link = next(w for w in text.split() if "/confirm/" in w)
        page.goto(link)
        assert status(project, "new.reader@example.com") == "pending"
        page.get_by_role("button", name="Confirm").click()
        page.get_by_role("heading", name="You are subscribed").wait_for()
        shoot(page, tmp_path, "confirmed")
        assert status(project, "new.reader@example.com") == "active"
