"""Accounts: users with roles, password hashing, login lockout, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from data.models import ROLES, ApiToken, Department, User
from data.types import utcnow

MIN_PASSWORD_LENGTH = 8
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
TOKEN_PREFIX = "og_"
_DUMMY_HASH = generate_password_hash("not-a-real-password-just-for-timing")


class AccountError(ValueError):
    """An account operation was refused; the message says why and what to do."""


@dataclass(frozen=True)
class Principal:
    """Who is acting: what the web layer keeps in the session and checks roles against."""

    user_id: int
    username: str
    display_name: str
    role: str
    department_id: int | None


def principal(user: User) -> Principal:
    return Principal(user.id, user.username, user.display_name, user.role, user.department_id)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")
    return generate_password_hash(password)


def create_user(
    session: Session,
    username: str,
    role: str,
    password: str | None,
    *,
    display_name: str | None = None,
    department_code: str | None = None,
    phone: str | None = None,
) -> User:
    """Add a user. Refuses a taken username, an unknown role or department, a short password."""
    username = username.strip()
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise AccountError(f"username {username!r}: 1-64 printable characters, no spaces")
    if role not in ROLES:
        raise AccountError(f"role {role!r} unknown: use one of {', '.join(ROLES)}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} exists already")
    department_id = None
    if department_code:
        department_id = session.scalar(
            select(Department.id).where(Department.code == department_code)
        )
        if department_id is None:
            raise AccountError(f"department {department_code!r} not found")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        department_id=department_id,
        phone=phone,
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(
    session: Session, username: str, password: str, now: datetime | None = None
) -> tuple[User | None, str]:
    """Check a password. Returns ``(user, "")`` or ``(None, reason_key)``.

    Reasons: ``bad_credentials`` (unknown user or wrong password — not told apart),
    ``locked`` (too many failures; locked for :data:`LOCKOUT`), ``inactive``.
    The caller commits (failure counts are recorded).
    """
    now = now or utcnow()
    username = username.strip()
    if not username or len(username) > 64 or not username.isprintable():
        check_password_hash(_DUMMY_HASH, password)
        return None, "bad_credentials"
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)  # same time as a real check
        return None, "bad_credentials"
    if user.locked_until is not None and user.locked_until > now:
        return None, "locked"
    if not user.active:
        return None, "inactive"
    if not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            return None, "locked"
        return None, "bad_credentials"
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user, ""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, username: str, name: str = "integration") -> str:
    """Issue an API token for ``username``; return the plain token (shown once, never stored)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"user {username!r} not found: create it first with 'user create'")
    if not user.active:
        raise AccountError(f"user {username!r} is inactive")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, prefix=token[:10],
                         token_hash=_token_hash(token)))
    session.flush()
    return token


def user_for_token(session: Session, token: str, now: datetime | None = None) -> User | None:
    """The active user a valid, unrevoked, unexpired token belongs to; records its use."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    now = now or utcnow()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if not row.user.active:
        return None
    row.last_used_at = now
    return row.user
