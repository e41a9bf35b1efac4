"""SSH public keys: which are accepted, how they are stored, and who they log in."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import asyncssh
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from auth import identities, sshkeys
from auth.authenticate import Authenticator
from auth.errors import AlreadyExists, AuthenticationFailed, InvalidInput, LimitExceeded
from auth.secretbox import SecretBox
from gitserver.db import Database

T = TypeVar("T")


@cache
def public(algorithm: str, **options: Any) -> str:
    key = asyncssh.generate_private_key(algorithm, comment="me@laptop", **options)
    return bytes(key.export_public_key("openssh")).decode()


def fresh(algorithm: str = "ssh-ed25519") -> str:
    return bytes(asyncssh.generate_private_key(algorithm).export_public_key("openssh")).decode()


def with_db(tmp_path: Path, body: Callable[[Database], Awaitable[T]]) -> T:
    async def main() -> T:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        await db.upgrade()
        try:
            return await body(db)
        finally:
            await db.close()

    return asyncio.run(main())


@pytest.mark.parametrize(
    ("algorithm", "options", "bits"),
    [
        pytest.param("ssh-ed25519", {}, 256, id="ed25519"),
        pytest.param("ecdsa-sha2-nistp256", {}, 256, id="ecdsa-256"),
        pytest.param("ecdsa-sha2-nistp384", {}, 384, id="ecdsa-384"),
        pytest.param("ssh-rsa", {"key_size": 2048}, 2048, id="rsa-2048"),
    ],
)
def test_accepted_kinds(algorithm: str, options: dict[str, Any], bits: int) -> None:
    parsed = sshkeys.parse_public_key(public(algorithm, **options))
    assert parsed.algorithm == algorithm
    assert parsed.bits == bits
    assert parsed.body.startswith(algorithm + " ") and parsed.body.endswith(" me@laptop")
    assert re.fullmatch(r"([0-9a-f]{2}:){15}[0-9a-f]{2}", parsed.fingerprint_md5)
    assert parsed.fingerprint_sha256.startswith("SHA256:")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param(lambda: public("ssh-dss"), "DSA keys are refused", id="dsa"),
        pytest.param(
            lambda: public("ssh-rsa", key_size=1024),
            "at least 2048 bits; this one has 1024",
            id="rsa-1024",
        ),
        pytest.param(lambda: "", "empty", id="empty"),
        pytest.param(lambda: "ssh-ed25519 AAAAnotbase64", "not a supported", id="garbage"),
        pytest.param(
            lambda: public("ssh-ed25519") + public("ecdsa-sha2-nistp256"),
            "exactly one",
            id="two-keys",
        ),
        pytest.param(
            lambda: bytes(
                asyncssh.generate_private_key("ssh-ed25519").export_private_key()
            ).decode(),
            "private key",
            id="private-key",
        ),
        pytest.param(lambda: "x" * 20000, "longer than 16384", id="too-long"),
    ],
)
def test_refused_keys_say_why(text: Callable[[], str], reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        sshkeys.parse_public_key(text())


def test_fingerprints_match_ssh_keygen(tmp_path: Path) -> None:
    path = tmp_path / "key.pub"
    path.write_text(public("ssh-ed25519"))
    parsed = sshkeys.parse_public_key(path.read_text())
    for hash_name, expected in (
        ("sha256", parsed.fingerprint_sha256),
        ("md5", parsed.fingerprint_md5),
    ):
        out = subprocess.run(
            ["ssh-keygen", "-l", "-E", hash_name, "-f", str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.split()[1].removeprefix("MD5:") == expected


def test_rfc4716_form_is_accepted_and_normalized(tmp_path: Path) -> None:
    key = asyncssh.import_public_key(public("ssh-rsa", key_size=2048))
    rfc4716 = bytes(key.export_public_key("rfc4716")).decode()
    parsed = sshkeys.parse_public_key(rfc4716)
    assert parsed.body.split()[:2] == public("ssh-rsa", key_size=2048).split()[:2]


def test_a_key_belongs_to_one_user_only(tmp_path: Path) -> None:
    text = fresh()

    async def body(db: Database) -> None:
        async with db.session() as session:
            await identities.create_user(session, "alice")
            await identities.create_user(session, "bob")
            key = await sshkeys.add_ssh_key(session, "alice", text)
            assert re.fullmatch(r"APKA[A-Z0-9]{16}", key.id)
        for owner in ("alice", "bob"):
            with pytest.raises(AlreadyExists):
                async with db.session() as session:
                    await sshkeys.add_ssh_key(session, owner, text)

    with_db(tmp_path, body)


def test_at_most_five_keys_per_user(tmp_path: Path) -> None:
    async def body(session: AsyncSession) -> None:
        await identities.create_user(session, "carol")
        for _ in range(sshkeys.MAX_SSH_KEYS):
            await sshkeys.add_ssh_key(session, "carol", fresh())
        with pytest.raises(LimitExceeded):
            await sshkeys.add_ssh_key(session, "carol", fresh())
        assert len(await sshkeys.list_ssh_keys(session, "carol")) == sshkeys.MAX_SSH_KEYS

    async def run(db: Database) -> None:
        async with db.session() as session:
            await body(session)

    with_db(tmp_path, run)


def test_login_by_user_name_or_key_id_and_only_while_active(tmp_path: Path) -> None:
    text = fresh()
    fingerprint = sshkeys.parse_public_key(text).fingerprint_sha256

    async def body(db: Database) -> None:
        async with db.session() as session:
            await identities.create_user(session, "dave")
            await identities.create_user(session, "erin")
            key_id = (await sshkeys.add_ssh_key(session, "dave", text)).id
        authenticator = Authenticator(db, SecretBox(b"k" * 32), "000000000000", ("us-east-1",))
        for ssh_user in ("dave", key_id):
            login = await authenticator.ssh_key(ssh_user, fingerprint)
            assert (login.principal.name, login.key_id) == ("dave", key_id)
            assert login.principal.authenticated_by == "ssh-key"
        for ssh_user in ("erin", "APKA" + "X" * 16, "Dave"):
            with pytest.raises(AuthenticationFailed):
                await authenticator.ssh_key(ssh_user, fingerprint)
        async with db.session() as session:
            await sshkeys.set_ssh_key_status(session, key_id, "Inactive")
        with pytest.raises(AuthenticationFailed):
            await authenticator.ssh_key("dave", fingerprint)
        async with db.session() as session:
            await sshkeys.set_ssh_key_status(session, key_id, "Active")
            await identities.delete_user(session, "dave")
        with pytest.raises(AuthenticationFailed):
            await authenticator.ssh_key(key_id, fingerprint)

    with_db(tmp_path, body)
