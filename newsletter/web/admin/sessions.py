"""The dashboard's session cookie: signed, HttpOnly, SameSite=Lax, expiring, with a CSRF token.

The cookie holds a ``Visit``: the CSRF token of every form, and once logged in the account id,
the account's ``session_key`` (a new password or a removed account ends the session) and the
login time; also a one-shot message to show after a redirect. It is signed with
itsdangerous under a salt of its own (``NEWSLETTER_SECRET_KEY``, older keys still read), so it
can be read but never forged. It expires after ``IDLE`` without a request (every answer
re-signs it at most every ``REFRESH``) and ``LIFETIME`` after the login whatever happens.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from starlette.responses import Response

COOKIE = "newsletter_admin"
PATH = "/admin"
SALT = "newsletter-admin-session-v1"
IDLE = timedelta(hours=12)
LIFETIME = timedelta(days=7)
REFRESH = timedelta(minutes=5)
_LOCAL = re.compile(
    r"^/admin(?:/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?(?:\?[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?$"
)


@dataclass(frozen=True)
class Visit:
    """What the cookie says (``issued``: when it was signed, not stored in it)."""

    csrf: str
    user_id: int | None = None
    key: str = ""
    login_at: float = 0.0
    flash: str = ""
    issued: float = 0.0
    expired: bool = False  # the cookie was there but too old: say so on the login page

    @classmethod
    def fresh(cls, flash: str = "") -> Visit:
        """A visit with a new CSRF token and nobody logged in."""
        return cls(secrets.token_urlsafe(24), flash=flash)

    def logged_in(self, user_id: int, key: str) -> Visit:
        """The visit after a good login: a new CSRF token (never the one from before)."""
        return Visit(secrets.token_urlsafe(24), user_id, key, time.time())

    def with_flash(self, message: str) -> Visit:
        """The same visit, carrying a message for the next page."""
        return replace(self, flash=message)

    def csrf_matches(self, token: object) -> bool:
        """The form's token is this visit's (compared in constant time)."""
        return isinstance(token, str) and bool(token) and hmac.compare_digest(token, self.csrf)


class Codec:
    """Reads and writes the cookie."""

    def __init__(self, secret_keys: list[str], *, secure: bool) -> None:
        """Signs with the first of ``secret_keys``, reads with any; ``secure``: https only."""
        # itsdangerous signs with the last key and accepts all of them.
        self._serializer = URLSafeTimedSerializer(list(reversed(secret_keys)), salt=SALT)
        self.secure = secure

    def read(self, cookie: str | None) -> Visit:
        """The visit in the cookie; a fresh one if there is none or it is bad or too old."""
        if not cookie:
            return Visit.fresh()
        try:
            data, signed = self._serializer.loads(
                cookie, max_age=int(IDLE.total_seconds()), return_timestamp=True
            )
        except SignatureExpired:
            return replace(Visit.fresh(), expired=True)
        except BadData:
            return Visit.fresh()
        visit = _from_dict(data, signed.timestamp())
        if visit is None:
            return Visit.fresh()
        if visit.user_id is not None and time.time() - visit.login_at > LIFETIME.total_seconds():
            return replace(Visit.fresh(), expired=True)
        return visit

    def needs_refresh(self, visit: Visit) -> bool:
        """Signed long enough ago that the idle clock should be reset."""
        return time.time() - visit.issued > REFRESH.total_seconds()

    def write(self, response: Response, visit: Visit) -> None:
        """Set the cookie on ``response``."""
        value = self._serializer.dumps(_to_dict(visit))
        response.set_cookie(
            COOKIE,
            str(value),
            # Kept by the browser as long as a login may last, so that an idle session that
            # ran out comes back to us and the login page can say so.
            max_age=int(LIFETIME.total_seconds()),
            path=PATH,
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )


def _to_dict(visit: Visit) -> dict[str, Any]:
    data: dict[str, Any] = {"c": visit.csrf}
    if visit.user_id is not None:
        data.update(u=visit.user_id, k=visit.key, l=int(visit.login_at))
    if visit.flash:
        data["f"] = visit.flash
    return data


def _from_dict(data: object, issued: float) -> Visit | None:
    if not isinstance(data, dict) or not isinstance(data.get("c"), str):
        return None
    user_id, key, login_at = data.get("u"), data.get("k", ""), data.get("l", 0)
    if user_id is not None and not (
        isinstance(user_id, int) and isinstance(key, str) and isinstance(login_at, int)
    ):
        return None
    flash = data.get("f", "")
    return Visit(
        data["c"],
        user_id,
        str(key),
        float(login_at),
        flash if isinstance(flash, str) else "",
        issued,
    )


def safe_next(value: str | None) -> str:
    """Where to go after the login: a path of the dashboard, never another site."""
    if value and _LOCAL.match(value) and "//" not in value and "\\" not in value:
        return value
    return "/admin/"
