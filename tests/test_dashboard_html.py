"""Every dashboard page is valid HTML with labelled inputs, headings in order, tables with
headers (html-validate's recommended rules, which include its WCAG checks)."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from newsletter.models import utcnow
from tests.conftest import Project
from tests.dashboard import dashboard, make_admin
from tests.seeding import seed
from tests.test_preview import ROOT, html_validate


def test_every_dashboard_page_passes_html_validate(project: Project, tmp_path: Path) -> None:
    tool = html_validate()
    if tool is None:
        pytest.skip("html-validate is not installed (.ci/run installs it with npm)")
    seeded = seed(project.engine, subscribers=300, editions=4, now=utcnow())
    make_admin(project)
    with project.engine.connect() as conn:
        person = conn.execute(text("SELECT id FROM subscribers ORDER BY id LIMIT 1")).scalar_one()
    pages: dict[str, str] = {}
    with dashboard(project) as dash:
        pages["login"] = dash.get("/admin/login").text
        pages["wrong-password"] = dash.login(password="not the password").text
        dash.login()
        for name, path in {
            "overview": "/admin/",
            "queue": "/admin/queue",
            "tip": f"/admin/queue/{seeded.queued[0]}",
            "new-tip": "/admin/queue/new",
            "remove-tip": f"/admin/queue/{seeded.queued[0]}/remove",
            "editions": "/admin/editions",
            "edition": f"/admin/editions/{seeded.weeks[-1]}",
            "resend": f"/admin/editions/{seeded.weeks[-1]}/resend",
            "subscribers": "/admin/subscribers?q=ann",
            "subscriber": f"/admin/subscribers/{person}",
            "remove-subscriber": f"/admin/subscribers/{person}/remove",
            "import": "/admin/subscribers/import",
            "growth": "/admin/growth",
            "not-found": "/admin/nothing-here",
        }.items():
            pages[name] = dash.get(path).text
        pages["preview"] = dash.post(
            "/admin/queue/new", {"title": "T", "body": "B", "do": "preview"}
        ).text
        pages["import-preview"] = dash.client.post(
            "/admin/subscribers/import",
            data={"csrf": dash.csrf},
            files={"file": ("a.csv", io.BytesIO(b"email\nx@example.com\nbad\n"), "text/csv")},
        ).text
        pages["forbidden"] = dash.client.post("/admin/subscribers/add", data={}).text
    files = []
    for name, html in pages.items():
        assert re.search(r"<h1[ >]", html), name
        path = tmp_path / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        files.append(str(path))
    config = ROOT / "tests" / "htmlvalidate-admin.json"
    result = subprocess.run(
        [tool, "--config", str(config), *files], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
