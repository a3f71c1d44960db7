"""Accounts and the dashboard's safety: who gets in, with what, for how long, and what a form
without its token does (nothing)."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
import time_machine
from sqlalchemy import text

from newsletter import admins
from tests.conftest import Project, queue_and_subscribe
from tests.dashboard import OPERATOR, PASSWORD, dashboard, make_admin

PAGES = [
    "/admin/",
    "/admin/queue",
    "/admin/queue/new",
    "/admin/queue/delight-your-customers",
    "/admin/editions",
    "/admin/editions/2026-W48",
    "/admin/subscribers",
    "/admin/subscribers?q=reader",
    "/admin/subscribers/1",
    "/admin/subscribers/export.csv",
    "/admin/subscribers/import",
    "/admin/growth",
    "/admin/preview/tip/delight-your-customers",
    "/admin/no-such-page",
]
ACTIONS = [
    "/admin/queue/delight-your-customers/skip",
    "/admin/queue/reorder",
    "/admin/subscribers/1/unsubscribe",
    "/admin/subscribers/1/remove",
    "/admin/subscribers/add",
    "/admin/editions/2026-W48/resend",
    "/admin/logout",
]


# ---- the command line ------------------------------------------------------------------------


def test_admin_add_refuses_empty_and_short_passwords_in_one_line(project: Project) -> None:
    for given, said in (
        ("", "error: the password is empty"),
        ("short", "error: the password is too short: 5 characters, at least 12"),
    ):
        result = project.run("admin", "add", OPERATOR, "--password-stdin", input=given + "\n")
        assert result.exit_code == 1
        assert result.stderr.strip() == said
    assert project.rows("admin_users") == []


def test_admin_add_without_a_terminal_says_how_to_give_the_password(project: Project) -> None:
    result = project.run("admin", "add", OPERATOR)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: no terminal to ask for a password on: pipe it in with --password-stdin"
    )


def test_accounts_are_added_listed_reset_and_removed(project: Project) -> None:
    make_admin(project, "Ann.Operator@Example.com")
    (row,) = project.rows("admin_users")
    assert row["email"] == OPERATOR
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in json.dumps(row, default=str)
    again = project.run("admin", "add", OPERATOR, "--password-stdin", input=PASSWORD + "\n")
    assert again.exit_code == 1
    assert "already has an account" in again.stderr
    listed = json.loads(project.run("admin", "list", "--json").stdout)
    assert [a["email"] for a in listed] == [OPERATOR]
    assert listed[0]["last_login_at"] is None
    reset = project.run(
        "admin", "reset-password", OPERATOR, "--password-stdin", input="another good one!\n"
    )
    assert reset.exit_code == 0, reset.output
    assert project.rows("admin_users")[0]["session_key"] != row["session_key"]
    assert project.run("admin", "remove", OPERATOR).exit_code == 0
    gone = project.run("admin", "remove", OPERATOR)
    assert gone.exit_code == 1
    assert gone.stderr.strip() == (
        f"error: no dashboard account for '{OPERATOR}' (see `newsletter admin list`)"
    )


def test_every_admin_command_has_help_with_an_example(project: Project) -> None:
    for command in ("add", "list", "remove", "reset-password"):
        assert "Example: newsletter admin" in project.run("admin", command, "--help").stdout


# ---- no session: the login page, and nothing else -------------------------------------------


def test_no_dashboard_address_answers_anything_but_the_login_page_without_a_session(
    project: Project,
) -> None:
    queue_and_subscribe(project, 3)
    make_admin(project)
    with dashboard(project) as dash:
        for path in PAGES:
            answer = dash.client.get(path, follow_redirects=False)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/admin/login")
            assert answer.headers["cache-control"] == "no-store, private"
            assert "reader0" not in answer.text
            page = dash.client.get(path)
            assert page.url.path == "/admin/login"
            assert "Log in to the dashboard" in page.text
            assert "reader0@example.com" not in page.text
        before = project.snapshot()
        for path in ACTIONS:
            answer = dash.client.post(path, data={"order": "1", "email": "x@example.com"})
            assert answer.url.path == "/admin/login", path
        assert project.snapshot() == before


def test_the_login_page_comes_back_to_the_page_asked_for_and_never_to_another_site(
    project: Project,
) -> None:
    make_admin(project)
    with dashboard(project) as dash:
        first = dash.client.get("/admin/subscribers?status=active", follow_redirects=False)
        assert (
            first.headers["location"]
            == "/admin/login?next=%2Fadmin%2Fsubscribers%3Fstatus%3Dactive"
        )
        dash.get(first.headers["location"])
        went = dash.post(
            "/admin/login",
            {"email": OPERATOR, "password": PASSWORD, "next": "/admin/subscribers?status=active"},
            follow_redirects=False,
        )
        assert went.headers["location"] == "/admin/subscribers?status=active"
    for hostile in ("https://evil.example/", "//evil.example/admin", "/admin/../x\\y", "/archive"):
        with dashboard(project) as dash:
            dash.get("/admin/login")
            went = dash.post(
                "/admin/login",
                {"email": OPERATOR, "password": PASSWORD, "next": hostile},
                follow_redirects=False,
            )
            assert went.headers["location"] == "/admin/", hostile


def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(project: Project) -> None:
    make_admin(project)
    with dashboard(project) as dash:
        wrong = dash.login(OPERATOR, "not the password at all")
        unknown = dash.login("nobody@example.com", "not the password at all")
        assert wrong.status_code == unknown.status_code == 401
        assert "Wrong email address or password." in wrong.text
        assert wrong.text.replace(OPERATOR, "X") == unknown.text.replace("nobody@example.com", "X")
        assert "Log in to the dashboard" in dash.get("/admin/").text
    attempts = project.rows("admin_login_attempts")
    assert [a["ok"] for a in attempts] == [False, False]
    assert not any("nobody" in str(a.values()) or "127.0.0.1" in str(a.values()) for a in attempts)


def test_five_failures_lock_that_account_from_that_address_for_15_minutes(
    project: Project,
) -> None:
    make_admin(project)
    start = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False), dashboard(project) as dash:
        for _ in range(admins.PAIR_LIMIT):
            assert dash.login(OPERATOR, "wrong password here").status_code == 401
        locked = dash.login(OPERATOR, PASSWORD)
        assert locked.status_code == 429
        assert "Too many failed logins from here: try again in 15 min." in locked.text
        assert "Log in to the dashboard" in dash.get("/admin/").text
    with (
        time_machine.travel(start + dt.timedelta(minutes=16), tick=False),
        dashboard(project) as dash,
    ):
        assert dash.login().url.path == "/admin/"
        assert "The week at a glance" in dash.get("/admin/").text
    ok = [a["ok"] for a in project.rows("admin_login_attempts")]
    assert ok == [True], "a good login forgives the earlier failures of that pair"


def test_one_address_guessing_many_accounts_is_stopped_too(project: Project) -> None:
    make_admin(project)
    start = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False), dashboard(project) as dash:
        for i in range(admins.CLIENT_LIMIT):
            dash.login(f"guess{i}@example.com", "wrong password here")
        assert dash.login().status_code == 429


# ---- the cookie ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "secure"), [("https://tips.example.com", True), ("http://127.0.0.1:8000", False)]
)
def test_the_session_cookie_is_signed_httponly_lax_and_secure_on_https(
    project: Project, base: str, secure: bool
) -> None:
    project.config.write_text(project.config.read_text().replace("https://tips.example.com", base))
    make_admin(project)
    with dashboard(project, base_url=base) as dash:
        dash.get("/admin/login")
        answer = dash.post(
            "/admin/login", {"email": OPERATOR, "password": PASSWORD}, follow_redirects=False
        )
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("newsletter_admin=")
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/admin" in cookie
        assert ("Secure" in cookie) is secure
        assert "Max-Age=604800" in cookie


def test_a_forged_cookie_is_no_session(project: Project) -> None:
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        value = dash.client.cookies["newsletter_admin"]
        dash.client.cookies.clear()
        dash.client.cookies.set("newsletter_admin", value[:-3] + "AAA", path="/admin")
        assert dash.get("/admin/").url.path == "/admin/login"


def test_a_session_ends_after_12_idle_hours(project: Project) -> None:
    make_admin(project)
    start = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock, dashboard(project) as dash:
        dash.login()
        clock.move_to(start + dt.timedelta(hours=11))
        assert "The week at a glance" in dash.get("/admin/").text, "still within 12 hours"
        clock.move_to(start + dt.timedelta(hours=22))
        assert "The week at a glance" in dash.get("/admin/").text, "each request renews it"
        clock.move_to(start + dt.timedelta(hours=34, minutes=30))
        expired = dash.get("/admin/editions")
        assert expired.url.path == "/admin/login"
        assert "Your session has ended: please log in again." in expired.text


def test_a_new_password_or_a_removed_account_ends_its_sessions(project: Project) -> None:
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        assert "The week at a glance" in dash.get("/admin/").text
        project.run(
            "admin", "reset-password", OPERATOR, "--password-stdin", input="brand new password\n"
        )
        ended = dash.get("/admin/")
        assert ended.url.path == "/admin/login"
        assert "Your session has ended: please log in again." in ended.text
        dash.login(OPERATOR, "brand new password")
        assert "The week at a glance" in dash.get("/admin/").text
        project.run("admin", "remove", OPERATOR)
        make_admin(project)  # the same address again: a new account, not the old sessions
        assert dash.get("/admin/").url.path == "/admin/login"


def test_logging_out_ends_a_copied_cookie_too(project: Project) -> None:
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        copied = dash.client.cookies["newsletter_admin"]
        dash.get("/admin/")
        out = dash.post("/admin/logout")
        assert out.url.path == "/admin/login"
        assert "You are logged out" in out.text
        dash.client.cookies.clear()
        dash.client.cookies.set("newsletter_admin", copied, path="/admin")
        assert dash.get("/admin/").url.path == "/admin/login"


# ---- CSRF -------------------------------------------------------------------------------------


def test_a_form_without_its_token_or_with_another_is_refused_and_changes_nothing(
    project: Project,
) -> None:
    queue_and_subscribe(project, 2)
    make_admin(project)
    make_admin(project, "bob.operator@example.com")
    with dashboard(project) as other:
        other.login("bob.operator@example.com")
        other.get("/admin/")
        foreign = other.csrf
    with dashboard(project) as dash:
        dash.login()
        dash.get("/admin/subscribers")
        before = project.snapshot()
        for token in (None, "", "wrong-token", foreign):
            data = {"email": "new.person@example.com"}
            if token is not None:
                data["csrf"] = token
            answer = dash.client.post("/admin/subscribers/add", data=data)
            assert answer.status_code == 403
            assert "This form has expired" in answer.text
            assert "Nothing was changed" in answer.text
            skipped = dash.client.post(
                "/admin/queue/delight-your-customers/skip", data={"csrf": token or ""}
            )
            assert skipped.status_code == 403
        assert project.snapshot() == before
        assert (
            dash.post("/admin/subscribers/add", {"email": "new.person@example.com"}).status_code
            == 200
        )
        assert "new.person@example.com" in [r["email"] for r in project.rows("subscribers")]


def test_the_login_form_needs_its_token_too(project: Project) -> None:
    make_admin(project)
    with dashboard(project) as dash:
        answer = dash.client.post("/admin/login", data={"email": OPERATOR, "password": PASSWORD})
        assert answer.status_code == 403
        assert dash.get("/admin/").url.path == "/admin/login"


def test_a_get_of_an_action_changes_nothing(project: Project) -> None:
    queue_and_subscribe(project, 1)
    make_admin(project)
    with dashboard(project) as dash:
        dash.login()
        before = project.snapshot()
        answer = dash.get("/admin/queue/delight-your-customers/skip")
        assert answer.status_code == 405
        assert project.snapshot() == before


# ---- headers ----------------------------------------------------------------------------------


def test_every_dashboard_answer_is_uncacheable_and_scripts_come_only_from_files(
    project: Project,
) -> None:
    make_admin(project)
    with dashboard(project) as dash:
        for answer in (
            dash.get("/admin/login"),
            dash.login(),
            dash.get("/admin/nope"),
            dash.client.post("/admin/subscribers/add"),
        ):
            assert answer.headers["cache-control"] == "no-store, private"
            policy = answer.headers["content-security-policy"]
            assert "script-src 'self'" in policy
            assert "unsafe-inline" not in policy
        page = dash.get("/admin/")
        assert "<script>" not in page.text and " style=" not in page.text
        public = dash.client.get("/signup")
        assert "script-src" not in public.headers["content-security-policy"]
        assert "cache-control" not in public.headers
        chart = dash.client.get("/admin/static/vendor/chartjs/chart.umd.min.js")
        assert chart.status_code == 200
        assert chart.text.startswith("/*!\n * Chart.js v4.6.1")


def test_no_password_and_no_token_reaches_the_log(
    project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    make_admin(project)
    caplog.set_level(logging.DEBUG)
    with dashboard(project) as dash:
        dash.login(OPERATOR, "wrong password here")
        dash.login()
        dash.client.post("/admin/subscribers/add", data={"csrf": "forged-token-value"})
    assert PASSWORD not in caplog.text
    assert "wrong password here" not in caplog.text
    assert "forged-token-value" not in caplog.text


def test_the_login_page_says_how_to_make_the_first_account(project: Project) -> None:
    with dashboard(project) as dash:
        page = dash.get("/admin/login").text
        assert "newsletter admin add you@example.com" in page
    make_admin(project)
    with dashboard(project) as dash:
        assert "newsletter admin add" not in dash.get("/admin/login").text


def test_a_hash_made_with_weaker_parameters_is_redone_at_the_next_login(
    project: Project,
) -> None:
    from argon2 import PasswordHasher

    make_admin(project)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with project.engine.begin() as conn:
        conn.execute(text("UPDATE admin_users SET password_hash = :h"), {"h": weak})
    with dashboard(project) as dash:
        assert dash.login().url.path == "/admin/"
    stored = project.rows("admin_users")[0]["password_hash"]
    assert stored != weak
    assert admins.hasher().check_needs_rehash(stored) is False
    assert admins.hasher().verify(stored, PASSWORD)
