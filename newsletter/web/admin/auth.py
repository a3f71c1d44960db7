"""Logging in and out of the dashboard."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from newsletter import admins
from newsletter.web.admin.door import Call
from newsletter.web.admin.sessions import Visit, safe_next

EMAIL_LIMIT = 320


def login_page(call: Call) -> Response:
    """The login form (the answer to any dashboard address without a session)."""
    return _form(call, 200)


def login(call: Call) -> Response:
    """Check the address and password; on success a new session, and on to ``next``."""
    email, password = call.field("email")[:EMAIL_LIMIT], call.field("password")
    client = call.request.client.host if call.request.client else "?"
    keys = call.admin.web.settings.require_secret_key()
    attempt = admins.Attempt.of(keys, email, client)
    try:
        with call.session() as session:
            user = admins.login(session, attempt, email, password)
            found = (user.id, user.session_key) if user is not None else None
    except admins.TooManyAttempts as exc:
        return _form(
            call, 429, error=f"Too many failed logins from here: {_after(exc)}", email=email
        )
    if found is None:
        return _form(call, 401, error="Wrong email address or password.", email=email)
    call.visit = call.visit.logged_in(*found)
    call.dirty = True
    return RedirectResponse(safe_next(call.field("next")), status_code=303)


def logout(call: Call) -> Response:
    """End the account's sessions (a copied cookie stops working too)."""
    assert call.user_id is not None
    with call.session() as session:
        admins.end_sessions(session, call.user_id)
    call.visit = Visit.fresh("ok|You are logged out (on every device).")
    call.dirty = True
    return RedirectResponse("/admin/login", status_code=303)


def _form(call: Call, status: int, *, error: str | None = None, email: str = "") -> Response:
    with call.session() as session:
        none_yet = admins.count(session) == 0
    return call.render(
        "login.html.j2",
        status,
        next=safe_next(call.param("next") or call.field("next")),
        error=error,
        email=email,
        none_yet=none_yet,
    )


def _after(exc: admins.TooManyAttempts) -> str:
    return str(exc).split(": ", 1)[-1] + "."
