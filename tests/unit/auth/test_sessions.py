"""Web sessions against a real (SQLite) metadata store: only a digest is stored, expiry
and the idle timeout end a session, sign-out everywhere ends all of a user's."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from auth import identities, sessions
from gitserver.db import Database, WebSession, utcnow


def test_sessions_store_a_digest_and_end_on_expiry_idle_and_sign_out(tmp_path: Path) -> None:
    async def main() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        await db.upgrade()
        try:
            async with db.session() as session:
                user = await identities.create_user(session, "ann", password="pw-123456")
                token, info = await sessions.create_session(session, user.id, source_ip="10.0.0.1")
                other, _ = await sessions.create_session(session, user.id)
                third, _ = await sessions.create_session(session, user.id)
            async with db.reader() as session:
                stored = list(await session.scalars(select(WebSession.token_sha256)))
                assert token not in stored
                assert hashlib.sha256(token.encode()).hexdigest() in stored
                found = await sessions.find_session(session, token)
                assert found is not None and found.user_id == user.id
                assert found.csrf_token == info.csrf_token and len(found.csrf_token) >= 32
                assert await sessions.find_session(session, "not-a-token") is None
            async with db.session() as session:
                row = await session.get(WebSession, sessions.token_digest(other))
                assert row is not None
                row.expires_at = utcnow() - timedelta(seconds=1)
                row3 = await session.get(WebSession, sessions.token_digest(third))
                assert row3 is not None
                row3.last_seen_at = utcnow() - sessions.IDLE - timedelta(seconds=1)
            async with db.reader() as session:
                assert await sessions.find_session(session, other) is None  # expired
                assert await sessions.find_session(session, third) is None  # idle too long
            async with db.session() as session:
                await sessions.purge_expired(session)  # the expired and the idle one
                assert await sessions.count_sessions(session, user.id) == 1
                await sessions.touch_session(session, info.token_sha256)
                assert await sessions.delete_user_sessions(session, user.id) == 1
            async with db.reader() as session:
                assert await sessions.find_session(session, token) is None
        finally:
            await db.close()

    asyncio.run(main())
