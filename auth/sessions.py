"""Web UI sessions, kept server-side: the cookie holds a random token, the database only
its SHA-256 (a copy of the database signs no one in), with an absolute expiry and an
idle timeout. Signing out deletes the row; "sign out everywhere" deletes the user's rows.

Functions take the caller's session: one unit of work per request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principals import auth_epoch
from gitserver.db import User, WebSession, utcnow

LIFETIME = timedelta(days=7)
IDLE = timedelta(hours=24)
# last_seen_at is written at most this often: a page view should not cost a write.
_TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session: whose, and the CSRF token its forms carry."""

    token_sha256: str
    user_id: str
    csrf_token: str
    expires_at: datetime
    last_seen_at: datetime

    @property
    def needs_touch(self) -> bool:
        """Whether this request should record activity (at most every few minutes)."""
        return self.last_seen_at + _TOUCH_EVERY <= utcnow()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_session(
    session: AsyncSession, user_id: str, *, source_ip: str = "", user_agent: str = ""
) -> tuple[str, SessionInfo]:
    """A new session for `user_id`: the cookie's token (returned once) and its info."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(
        token_sha256=token_digest(token),
        user_id=user_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + LIFETIME,
        last_seen_at=now,
        source_ip=source_ip[:64],
        user_agent=user_agent[:256],
    )
    session.add(row)
    await session.flush()
    return token, _info(row)


async def find_session(session: AsyncSession, token: str) -> SessionInfo | None:
    """The live session of cookie `token`; None when unknown, expired or idle too long
    (or its user is gone)."""
    found = await find_session_user(session, token)
    return found[0] if found else None


async def find_session_user(
    session: AsyncSession, token: str
) -> tuple[SessionInfo, User, int] | None:
    """`find_session`, its user and the auth epoch in one statement (every signed-in
    page asks all three: `PrincipalCache`)."""
    if not token or len(token) > 128:
        return None
    found = (
        await session.execute(
            select(WebSession, User, auth_epoch())
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.token_sha256 == token_digest(token))
        )
    ).first()
    if found is None:
        return None
    row, user, epoch = found
    now = utcnow()
    if row.expires_at <= now or row.last_seen_at + IDLE <= now:
        return None
    return _info(row), user, epoch


async def touch_session(session: AsyncSession, token_sha256: str) -> None:
    """Record activity: the idle timeout counts from here."""
    row = await session.get(WebSession, token_sha256)
    if row is not None:
        row.last_seen_at = utcnow()


async def delete_session(session: AsyncSession, token_sha256: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.token_sha256 == token_sha256))


async def delete_user_sessions(
    session: AsyncSession, user_id: str, *, keep: str | None = None
) -> int:
    """Sign `user_id` out everywhere (except the session `keep`, by digest); how many."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        query = query.where(WebSession.token_sha256 != keep)
    result = await session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_expired(session: AsyncSession) -> None:
    """Drop sessions past their expiry or idle too long (refused anyway; this keeps the
    table small). Called at each sign-in."""
    now = utcnow()
    await session.execute(
        delete(WebSession).where(
            or_(WebSession.expires_at <= now, WebSession.last_seen_at <= now - IDLE)
        )
    )


async def count_sessions(session: AsyncSession, user_id: str) -> int:
    rows = await session.scalars(
        select(WebSession.token_sha256).where(WebSession.user_id == user_id)
    )
    return len(list(rows))


async def last_sign_ins(session: AsyncSession) -> dict[str, datetime]:
    """Each user's newest web sign-in, by user id, as far as the sessions still kept
    tell (a signed-out or purged session is forgotten: no login history is stored)."""
    rows = await session.execute(
        select(WebSession.user_id, func.max(WebSession.created_at)).group_by(WebSession.user_id)
    )
    return {user_id: created for user_id, created in rows}


def _info(row: WebSession) -> SessionInfo:
    return SessionInfo(
        row.token_sha256, row.user_id, row.csrf_token, row.expires_at, row.last_seen_at
    )
