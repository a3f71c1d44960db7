"""Dashboard accounts: Argon2id passwords, sessions that end with the password, login limits.

An operator is an ``admin_users`` row: the address, an Argon2id hash (argon2-cffi's
defaults; a hash made with older parameters is redone at the next good login), and a random
``session_key`` that every session cookie carries. A new password or removing the account
changes or drops the key, so every session made before stops working at once.

Every login attempt is written to ``admin_login_attempts`` (keyed hashes of the account name
and of the client's address, never the address itself), so the limits hold across web
processes: ``PAIR_LIMIT`` failures of one account from one address, or ``CLIENT_LIMIT``
failures from one address whatever the account, within ``WINDOW``, and that address waits
until the oldest of them is ``WINDOW`` old. There is no lock on an account from everywhere:
that would let anyone lock the operator out. The answer to a wrong address and to a wrong
password is the same, in the same time (a hash is checked either way).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from newsletter.errors import InputError, NewsletterError
from newsletter.models import AdminLoginAttempt, AdminUser, utcnow
from newsletter.subscribers import normalise_email

PASSWORD_MIN = 12
PASSWORD_MAX = 1024
WINDOW = timedelta(minutes=15)
PAIR_LIMIT = 5
CLIENT_LIMIT = 20
KEEP_ATTEMPTS = timedelta(days=1)


class TooManyAttempts(NewsletterError):
    """Too many failed logins from this address (for this account, or at all)."""

    def __init__(self, wait: timedelta) -> None:
        """``wait``: until the oldest failure counted leaves the window."""
        minutes = max(1, -(-int(wait.total_seconds()) // 60))
        super().__init__(f"too many failed logins: try again in {minutes} min")
        self.wait = wait


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    """Argon2id with argon2-cffi's recommended parameters (RFC 9106's second choice)."""
    return PasswordHasher()


@lru_cache(maxsize=1)
def _decoy() -> str:
    # Checked when the account does not exist, so that answer takes as long as a real one.
    return hasher().hash(secrets.token_urlsafe(16))


def check_password(password: str) -> str:
    """The password, or one clear line on why it cannot be one."""
    if not password:
        raise InputError("the password is empty")
    if len(password) < PASSWORD_MIN:
        raise InputError(
            f"the password is too short: {len(password)} characters, at least {PASSWORD_MIN}"
        )
    if len(password) > PASSWORD_MAX:
        raise InputError(f"the password is too long: at most {PASSWORD_MAX} characters")
    return password


def add(session: Session, email: str, password: str) -> AdminUser:
    """A new account; refused when the address already has one."""
    address = normalise_email(email)
    check_password(password)
    if find(session, address) is not None:
        raise InputError(f"{address} already has an account (`newsletter admin reset-password`)")
    now = utcnow()
    user = AdminUser(
        email=address,
        password_hash=hasher().hash(password),
        session_key=_new_key(),
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    return user


def find(session: Session, email: str) -> AdminUser | None:
    """The account of this (normalised) address, if any."""
    return session.scalars(select(AdminUser).where(AdminUser.email == email)).first()


def get(session: Session, email: str) -> AdminUser:
    """The account of this address, or a clear error."""
    user = find(session, normalise_email(email))
    if user is None:
        raise InputError(
            f"no dashboard account for {email.strip()!r} (see `newsletter admin list`)"
        )
    return user


def all_accounts(session: Session) -> list[AdminUser]:
    """Every account, oldest first."""
    return list(session.scalars(select(AdminUser).order_by(AdminUser.id)))


def count(session: Session) -> int:
    """How many accounts there are."""
    return session.scalar(select(func.count()).select_from(AdminUser)) or 0


def remove(session: Session, email: str) -> AdminUser:
    """Delete an account: its sessions end with it."""
    user = get(session, email)
    session.delete(user)
    session.flush()
    return user


def reset_password(session: Session, email: str, password: str) -> AdminUser:
    """A new password; every session of the account made before ends."""
    user = get(session, email)
    check_password(password)
    user.password_hash = hasher().hash(password)
    user.session_key = _new_key()
    user.password_changed_at = utcnow()
    session.flush()
    return user


def end_sessions(session: Session, user_id: int) -> None:
    """Log the account out everywhere: every session cookie it was given stops working."""
    user = session.get(AdminUser, user_id)
    if user is not None:
        user.session_key = _new_key()
        session.flush()


def session_user(session: Session, user_id: int, session_key: str) -> AdminUser | None:
    """The account a session cookie names, if it still exists with the same session key."""
    user = session.get(AdminUser, user_id)
    if user is None or not hmac.compare_digest(user.session_key, session_key):
        return None
    return user


@dataclass(frozen=True)
class Attempt:
    """Who is trying: keyed hashes of the account name typed and of the client's address."""

    account: str
    client: str

    @classmethod
    def of(cls, secret_keys: list[str], email: str, client: str) -> Attempt:
        """The attempt of ``email`` (as typed) from the client address ``client``."""
        key = hmac.digest(secret_keys[0].encode(), b"admin-login-v1", hashlib.sha256)

        def keyed(text: str) -> str:
            return hmac.digest(key, text.encode(), hashlib.sha256).hex()

        return cls(keyed("account:" + email.strip().lower()), keyed("client:" + client))


def login(session: Session, attempt: Attempt, email: str, password: str) -> AdminUser | None:
    """The account, if the address and password are right; None if not (the failure is
    recorded: commit it). ``TooManyAttempts`` when the client is locked out (nothing is checked
    or recorded then)."""
    now = utcnow()
    _check_limits(session, attempt, now)
    try:
        address = normalise_email(email)
    except InputError:
        address = ""
    user = find(session, address) if address else None
    ok = _verify(user.password_hash if user else _decoy(), password) and user is not None
    session.add(AdminLoginAttempt(account=attempt.account, client=attempt.client, at=now, ok=ok))
    if not ok or user is None:
        session.flush()
        return None
    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hasher().hash(password)
    user.last_login_at = now
    # A good login forgives this account's earlier slips from this address.
    session.execute(
        delete(AdminLoginAttempt).where(
            AdminLoginAttempt.account == attempt.account,
            AdminLoginAttempt.client == attempt.client,
            AdminLoginAttempt.ok.is_(False),
        )
    )
    session.execute(delete(AdminLoginAttempt).where(AdminLoginAttempt.at < now - KEEP_ATTEMPTS))
    session.flush()
    return user


def _verify(stored: str, password: str) -> bool:
    try:
        return bool(hasher().verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def _check_limits(session: Session, attempt: Attempt, now: datetime) -> None:
    since = now - WINDOW
    failures = select(AdminLoginAttempt.at).where(
        AdminLoginAttempt.ok.is_(False), AdminLoginAttempt.at > since
    )
    for rows, limit in (
        (
            failures.where(
                AdminLoginAttempt.account == attempt.account,
                AdminLoginAttempt.client == attempt.client,
            ),
            PAIR_LIMIT,
        ),
        (failures.where(AdminLoginAttempt.client == attempt.client), CLIENT_LIMIT),
    ):
        recent = list(session.scalars(rows.order_by(AdminLoginAttempt.at.desc()).limit(limit)))
        if len(recent) >= limit:
            raise TooManyAttempts(recent[-1] + WINDOW - now)


def _new_key() -> str:
    return secrets.token_urlsafe(24)
