"""Identity and credential services against a real (SQLite) metadata store."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from auth import credentials, identities
from auth.authenticate import Authenticator
from auth.errors import AlreadyExists, AuthenticationFailed, InvalidInput, LimitExceeded, NotFound
from auth.secretbox import SecretBox
from gitserver.db import Database

T = TypeVar("T")


def run(tmp_path: Path, body: Callable[[Database], Awaitable[T]]) -> T:
    async def main() -> T:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        await db.upgrade()
        try:
            return await body(db)
        finally:
            await db.close()

    return asyncio.run(main())


def in_session(tmp_path: Path, body: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def wrapped(db: Database) -> T:
        async with db.session() as session:
            return await body(session)

    return run(tmp_path, wrapped)


def test_user_names_follow_iam_rules_and_are_unique_ignoring_case(tmp_path: Path) -> None:
    async def body(session: AsyncSession) -> None:
        user = await identities.create_user(session, "alice.smith@corp")
        assert re.fullmatch(r"AIDA[A-Z0-9]{17}", user.id)
        with pytest.raises(AlreadyExists):
            await identities.create_user(session, "ALICE.SMITH@corp")
        with pytest.raises(InvalidInput):
            await identities.create_user(session, "bad name")
        with pytest.raises(InvalidInput):
            await identities.create_user(session, "x" * 65)

    in_session(tmp_path, body)


def test_groups_membership(tmp_path: Path) -> None:
    async def body(session: AsyncSession) -> None:
        await identities.create_user(session, "bob")
        await identities.create_group(session, "devs")
        await identities.add_user_to_group(session, "devs", "bob")
        await identities.add_user_to_group(session, "devs", "bob")  # idempotent
        [(group, members)] = await identities.list_groups(session)
        assert (group.name, members) == ("devs", ["bob"])
        await identities.remove_user_from_group(session, "devs", "bob")
        with pytest.raises(NotFound):
            await identities.remove_user_from_group(session, "devs", "bob")
        with pytest.raises(NotFound):
            await identities.add_user_to_group(session, "nope", "bob")

    in_session(tmp_path, body)


def test_git_credentials_codecommit_form_and_limit(tmp_path: Path) -> None:
    async def body(session: AsyncSession) -> None:
        await identities.create_user(session, "carol")
        first = await credentials.create_git_credential(session, "carol", "123456789012")
        second = await credentials.create_git_credential(session, "carol", "123456789012")
        assert first.username == "carol-at-123456789012"
        assert second.username.endswith("-at-123456789012") and second.username != first.username
        assert re.fullmatch(r"ACCA[A-Z0-9]{17}", first.credential_id)
        assert len(first.password) == 44
        with pytest.raises(LimitExceeded):
            await credentials.create_git_credential(session, "carol", "123456789012")

    in_session(tmp_path, body)


def test_authentication_by_credential_password_and_status(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path)

    async def body(db: Database) -> None:
        async with db.session() as session:
            await identities.create_user(session, "dave", password="dave-password")
            new = await credentials.create_git_credential(session, "dave", "000000000000")
        auth = Authenticator(db, box, "000000000000", ("us-east-1",))
        where = {"paths": ["/v1/repos/x"], "hosts": ["h"]}
        principal = await auth.basic(new.username, new.password, **where)
        assert (principal.name, principal.authenticated_by) == ("dave", "git-credential")
        assert principal.arn == "arn:aws:iam::000000000000:user/dave"
        assert (await auth.basic("dave", "dave-password", **where)).authenticated_by == "password"
        for user, password in [("dave", "nope"), (new.username, "nope"), ("ghost", "x")]:
            with pytest.raises(AuthenticationFailed):
                await auth.basic(user, password, **where)
        async with db.session() as session:
            await credentials.set_git_credential_status(session, new.credential_id, "Inactive")
        with pytest.raises(AuthenticationFailed, match="inactive"):
            await auth.basic(new.username, new.password, **where)
        async with db.session() as session:
            await credentials.set_git_credential_status(session, new.credential_id, "Active")
            _, fresh = await credentials.reset_git_credential(session, new.credential_id)
        with pytest.raises(AuthenticationFailed):  # the cached old password is void now
            await auth.basic(new.username, new.password, **where)
        assert (await auth.basic(new.username, fresh, **where)).name == "dave"

    run(tmp_path, body)


def test_access_keys_are_encrypted_and_limited(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path)

    async def body(session: AsyncSession) -> None:
        await identities.create_user(session, "erin")
        key = await credentials.create_access_key(session, "erin", box)
        assert re.fullmatch(r"AKIA[A-Z0-9]{16}", key.access_key_id)
        assert len(key.secret_access_key) == 40
        [(row, owner)] = await credentials.list_access_keys(session, "erin")
        assert owner == "erin" and key.secret_access_key.encode() not in row.secret_ciphertext
        assert box.decrypt(row.secret_ciphertext, row.id) == key.secret_access_key
        await credentials.create_access_key(session, "erin", box)
        with pytest.raises(LimitExceeded):
            await credentials.create_access_key(session, "erin", box)

    in_session(tmp_path, body)
