"""Turns credentials into a Principal: HTTP Basic for smart HTTP, public keys for SSH.

Three schemes arrive as Basic auth, told apart by the user name (reference/codecommit.md
section 5): `NAME-at-ACCOUNT` is an HTTPS Git credential, `AKIA…[%token]` with a
`<timestamp>Z<signature>` password is the SigV4 Git password, anything else is a user
name with that user's password. Over SSH the user name is the key's owner or its
`SSHPublicKeyId`, and the key is looked up at every login (a deactivation is immediate).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.errors import AuthenticationFailed
from auth.passwords import verify_password
from auth.principal import Principal
from auth.principals import PrincipalCache, auth_epoch
from auth.secretbox import SecretBox
from auth.sessions import SessionInfo, find_session_user
from auth.sigv4 import looks_like_git_password, verify_git_password
from auth.sshkeys import find_login
from gitserver.db import AccessKey, Database, GitCredential, User

_CACHE_TTL = 300.0
# argon2 checks run on a small pool of their own: it bounds CPU in a login burst, and the
# memory each check takes (19 MiB) stays with the thread that ran it, so few threads.
_ARGON2_THREADS = 4
_CACHE_MAX = 10_000


class _VerifiedCache:
    """Remembers recent successful argon2 checks so a clone's 2-3 requests pay once.

    Keys hold an HMAC of the password under a per-process key, never the password; an
    entry only counts while the stored hash is unchanged (a reset or delete voids it).
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._entries: dict[tuple[str, bytes], tuple[str, float]] = {}

    def _digest(self, password: str) -> bytes:
        return hmac.new(self._key, password.encode(), hashlib.sha256).digest()

    def hit(self, subject: str, password: str, password_hash: str) -> bool:
        entry = self._entries.get((subject, self._digest(password)))
        if entry is None:
            return False
        cached_hash, expires = entry
        return expires > time.monotonic() and hmac.compare_digest(cached_hash, password_hash)

    def remember(self, subject: str, password: str, password_hash: str) -> None:
        if len(self._entries) >= _CACHE_MAX:
            self._entries.clear()
        self._entries[(subject, self._digest(password))] = (
            password_hash,
            time.monotonic() + _CACHE_TTL,
        )


@dataclass(frozen=True, slots=True)
class SshLogin:
    """Who an SSH public key identified, and by which key."""

    principal: Principal
    key_id: str


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """An access key's row with its owner's and the auth epoch, as one statement read
    them (`Authenticator.read_access_key`); the owner's columns make it an `Owner`."""

    status: str
    secret_ciphertext: bytes
    id: str
    name: str
    is_admin: bool
    tags: dict[str, object] | None
    epoch: int


# Built once: every signed API request runs it, and building the statement cost as much
# as compiling it (SQLAlchemy caches the compiled form, not the construction). Columns,
# not entities: no ORM object is built for a row that lives for one request.
_ACCESS_KEY = (
    select(
        AccessKey.status,
        AccessKey.secret_ciphertext,
        User.id,
        User.name,
        User.is_admin,
        User.tags,
        auth_epoch(),
    )
    .join_from(AccessKey, User, User.id == AccessKey.user_id)
    .where(AccessKey.id == bindparam("key_id"))
)


@dataclass(frozen=True, slots=True)
class LoginRecord:
    """A user name's password login, or a Git credential's, with its owner's columns and
    the auth epoch, as one statement read them (`Authenticator.read_basic`)."""

    password_hash: str | None
    status: str
    id: str
    name: str
    is_admin: bool
    tags: dict[str, object] | None
    epoch: int


_OWNER = (User.id, User.name, User.is_admin, User.tags, auth_epoch())
_PASSWORD_LOGIN = select(User.password_hash, literal("Active"), *_OWNER).where(
    User.name == bindparam("name")
)
_CREDENTIAL_LOGIN = (
    select(GitCredential.password_hash, GitCredential.status, *_OWNER)
    .join_from(GitCredential, User, User.id == GitCredential.user_id)
    .where(GitCredential.service_user_name == bindparam("name"))
)


class Authenticator:
    """Checks credentials against the store; one instance per server process."""

    def __init__(
        self, db: Database, box: SecretBox, account_id: str, regions: tuple[str, ...]
    ) -> None:
        self._db = db
        self._box = box
        self._account_id = account_id
        self._regions = regions
        self._cache = _VerifiedCache()
        self.principals = PrincipalCache()
        self._argon2 = ThreadPoolExecutor(_ARGON2_THREADS, thread_name_prefix="argon2")

    def close(self) -> None:
        self._argon2.shutdown(wait=False, cancel_futures=True)

    async def basic(
        self, username: str, password: str, *, paths: Iterable[str], hosts: Iterable[str]
    ) -> Principal:
        """Authenticate Basic credentials sent to a Git URL.

        Raises:
            AuthenticationFailed: unknown, inactive or wrong credentials.
        """
        record = await self._db.read(lambda c: self.read_basic(c, username, password))
        return await self.basic_principal(username, password, record, paths=paths, hosts=hosts)

    @staticmethod
    def read_basic(
        connection: Connection, username: str, password: str
    ) -> KeyRecord | LoginRecord | None:
        """What Basic credentials name (an access key, a Git credential or a user), in
        one statement in the caller's read transaction (`Database.read`: a git request
        reads its repository in the same one); None when nothing has that name."""
        if _is_sigv4_git(username, password):
            return Authenticator.read_access_key(connection, username.partition("%")[0])
        statement = _CREDENTIAL_LOGIN if "-at-" in username else _PASSWORD_LOGIN
        row = connection.execute(statement, {"name": username}).first()
        return None if row is None else LoginRecord(*row)

    async def basic_principal(
        self,
        username: str,
        password: str,
        record: KeyRecord | LoginRecord | None,
        *,
        paths: Iterable[str],
        hosts: Iterable[str],
    ) -> Principal:
        """The principal of the Basic credentials `read_basic` found `record` for.

        Raises:
            AuthenticationFailed: unknown, inactive or wrong credentials.
        """
        if _is_sigv4_git(username, password):
            key_id, _, token = username.partition("%")
            if token:
                # Temporary (STS) credentials need a token service this server does not run.
                raise AuthenticationFailed("temporary credentials are not supported")
            key = record if isinstance(record, KeyRecord) else None
            secret, principal = await self.key_principal(key_id, key)
            if not verify_git_password(
                secret, password, paths=tuple(paths), hosts=tuple(hosts), regions=self._regions
            ):
                raise AuthenticationFailed(
                    "the SigV4 Git password does not match", code="SignatureDoesNotMatch"
                )
            return principal
        login = record if isinstance(record, LoginRecord) else None
        credential = "-at-" in username
        subject = f"{'cred' if credential else 'user'}:{username}"
        if not await self._checked(subject, password, login.password_hash if login else None):
            raise AuthenticationFailed("invalid user name or password")
        assert login is not None
        if login.status != "Active":
            raise AuthenticationFailed("this Git credential is inactive")
        cached = self.principals.lookup(login.id, login.epoch)
        if cached is None:
            async with self._db.reader() as session:
                cached = await self.principals.read(session, login, login.epoch)
        by = "git-credential" if credential else "password"
        return self.principals.principal(login, cached, self._account_id, by)

    async def ssh_key(self, ssh_user: str, fingerprint_sha256: str) -> SshLogin:
        """Authenticate an SSH public key offered for `ssh_user`.

        Raises:
            AuthenticationFailed: unknown or inactive key, or a user name it does not match.
        """
        async with self._db.reader() as session:
            found = await find_login(session, ssh_user, fingerprint_sha256)
            if found is None:
                raise AuthenticationFailed("unknown or inactive SSH key for this user")
            key, user = found
            principal = await self._principal(session, user, None, "ssh-key")
        return SshLogin(principal, key.id)

    async def access_key(self, access_key_id: str) -> tuple[str, Principal]:
        """The secret of an active access key and its owner, for verifying a signature.

        Raises:
            AuthenticationFailed: unknown or inactive key.
        """
        record = await self._db.read(lambda c: self.read_access_key(c, access_key_id))
        return await self.key_principal(access_key_id, record)

    @staticmethod
    def read_access_key(connection: Connection, access_key_id: str) -> KeyRecord | None:
        """The key's row, its owner and the auth epoch in one statement, in the caller's
        read transaction (`Database.read`: the API reads its target repositories in the
        same one); None for an unknown key."""
        row = connection.execute(_ACCESS_KEY, {"key_id": access_key_id}).first()
        return None if row is None else KeyRecord(*row)

    async def key_principal(
        self, access_key_id: str, record: KeyRecord | None
    ) -> tuple[str, Principal]:
        """The secret and principal of the key `read_access_key` found: the principal's
        groups and policies from the cache when they were read at the record's epoch,
        else read now.

        Raises:
            AuthenticationFailed: unknown or inactive key.
        """
        if record is None or record.status != "Active":
            raise AuthenticationFailed(
                "invalid or inactive access key", code="InvalidClientTokenId"
            )
        secret = self._box.decrypt(record.secret_ciphertext, access_key_id)
        cached = self.principals.lookup(record.id, record.epoch)
        if cached is None:
            async with self._db.reader() as session:
                cached = await self.principals.read(session, record, record.epoch)
        return secret, self.principals.principal(record, cached, self._account_id, "sigv4")

    async def refresh(self, principal: Principal) -> Principal:
        """`principal` as it is now: its policies, groups and tags read again.

        For a connection that carries several requests (SSH channels multiplexed over
        one login): the credential was checked once, but every request is decided on
        the identity's current policies.

        Raises:
            AuthenticationFailed: the user no longer exists.
        """
        async with self._db.reader() as session:
            user = await session.get(User, principal.user_id)
            if user is None:
                raise AuthenticationFailed("this user no longer exists")
            return await self._principal(session, user, None, principal.authenticated_by)

    async def password(self, username: str, password: str) -> Principal:
        """A user name and that user's password (the web UI's sign-in form).

        Raises:
            AuthenticationFailed: unknown user or wrong password.
        """
        return await self._password(username, password)

    async def web_session(self, token: str) -> tuple[SessionInfo, Principal] | None:
        """The live web session of cookie `token` and its user as they are now (policies,
        groups, tags read again on every request); None when the session is unknown,
        expired or idle, or its user is gone. One read transaction for both."""
        async with self._db.reader() as session:
            signed_in = await find_session_user(session, token)
            if signed_in is None:
                return None
            found, user, epoch = signed_in
            return found, await self._principal(session, user, epoch, "web-session")

    async def _principal(
        self, session: AsyncSession, user: User, epoch: int | None, authenticated_by: str
    ) -> Principal:
        """The user's principal; from the cache when the lookup read the auth epoch (a
        path that did not, None, reads everything: logins that start a connection)."""
        return await self.principals.load(session, user, epoch, self._account_id, authenticated_by)

    async def _checked(self, subject: str, password: str, password_hash: str | None) -> bool:
        if password_hash and self._cache.hit(subject, password, password_hash):
            return True
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(self._argon2, verify_password, password_hash, password):
            return False
        assert password_hash is not None  # verify_password is False without a hash
        self._cache.remember(subject, password, password_hash)
        return True

    async def _password(self, username: str, password: str) -> Principal:
        async with self._db.reader() as session:
            row = (
                await session.execute(select(User, auth_epoch()).where(User.name == username))
            ).first()
            user, epoch = (row[0], row[1]) if row else (None, None)
            if not await self._checked(
                f"user:{username}", password, user.password_hash if user else None
            ):
                raise AuthenticationFailed("invalid user name or password")
            assert user is not None
            return await self._principal(session, user, epoch, "password")


def _is_sigv4_git(username: str, password: str) -> bool:
    return username[:4] in {"AKIA", "ASIA"} and looks_like_git_password(password)
