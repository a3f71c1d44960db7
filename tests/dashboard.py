"""The dashboard through Starlette's test client, as a logged-in operator would use it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.testclient import TestClient

from newsletter.web import create_app
from tests.conftest import Project

OPERATOR = "ann.operator@example.com"
PASSWORD = "a long enough password"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def make_admin(project: Project, email: str = OPERATOR, password: str = PASSWORD) -> None:
    """``newsletter admin add`` through the real CLI."""
    result = project.run("admin", "add", email, "--password-stdin", input=password + "\n")
    assert result.exit_code == 0, result.output


class Dash:
    """A browser-like client of the dashboard: cookies kept, the CSRF token read from pages."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kw: Any) -> httpx.Response:
        answer = self.client.get(path, **kw)
        found = CSRF.search(answer.text)
        if found:
            self.csrf = found.group(1)
        return answer

    def post(self, path: str, data: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        """A form post with this session's token (unless ``data`` brings its own)."""
        form = {"csrf": self.csrf, **(data or {})}
        answer = self.client.post(path, data=form, **kw)
        found = CSRF.search(answer.text)
        if found:
            self.csrf = found.group(1)
        return answer

    def login(self, email: str = OPERATOR, password: str = PASSWORD) -> httpx.Response:
        self.get("/admin/login")
        return self.post("/admin/login", {"email": email, "password": password})

    def flash(self, answer: httpx.Response) -> str:
        found = re.search(r'<p class="flash [a-z]+" role="\w+">(.*?)</p>', answer.text, re.S)
        return found.group(1) if found else ""


@contextmanager
def dashboard(project: Project, base_url: str = "https://tips.example.com") -> Iterator[Dash]:
    """A test client of the app over the project's database (not logged in yet)."""
    app = create_app(project.settings, project.engine)
    with TestClient(app, base_url=base_url) as client:
        yield Dash(client)
