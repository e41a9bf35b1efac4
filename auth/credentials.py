"""HTTPS Git credentials and SigV4 access keys, in CodeCommit's and IAM's shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import ids
from auth.errors import LimitExceeded
from auth.identities import get_user
from auth.owned import ACCESS_KEYS, GIT_CREDENTIALS
from auth.passwords import hash_password
from auth.secretbox import SecretBox
from gitserver.db import AccessKey, GitCredential

MAX_GIT_CREDENTIALS = 2  # IAM: two service-specific credentials per user and service
MAX_ACCESS_KEYS = 2  # IAM: two access keys per user

# The generic operations, under the names callers use.
list_git_credentials = GIT_CREDENTIALS.list
set_git_credential_status = GIT_CREDENTIALS.set_status
delete_git_credential = GIT_CREDENTIALS.delete
list_access_keys = ACCESS_KEYS.list
set_access_key_status = ACCESS_KEYS.set_status
delete_access_key = ACCESS_KEYS.delete


@dataclass(frozen=True, slots=True)
class NewGitCredential:
    credential_id: str
    username: str
    password: str
    user_name: str

    def as_json(self) -> dict[str, str]:
        return {
            "username": self.username,
            "password": self.password,
            "ServiceSpecificCredentialId": self.credential_id,
            "UserName": self.user_name,
        }


@dataclass(frozen=True, slots=True)
class NewAccessKey:
    access_key_id: str
    secret_access_key: str
    user_name: str

    def as_json(self) -> dict[str, str]:
        return {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "UserName": self.user_name,
            "Status": "Active",
        }


def _service_user_name(user_name: str, account_id: str, taken: set[str]) -> str:
    # CodeCommit's form is NAME-at-ACCOUNT; a second credential needs a distinct name.
    base = f"{user_name}-at-{account_id}"
    if base not in taken:
        return base
    for n in range(1, 100):
        candidate = f"{user_name}+{n}-at-{account_id}"
        if candidate not in taken:
            return candidate
    raise LimitExceeded("no free credential name")


async def create_git_credential(
    session: AsyncSession, user_name: str, account_id: str
) -> NewGitCredential:
    """Generate a Git credential; the password is returned here and never again.

    Raises:
        NotFound: no such user.
        LimitExceeded: the user already has two credentials.
    """
    user = await get_user(session, user_name)
    existing = list(
        await session.scalars(select(GitCredential).where(GitCredential.user_id == user.id))
    )
    if len(existing) >= MAX_GIT_CREDENTIALS:
        raise LimitExceeded(
            f"user {user_name} already has {MAX_GIT_CREDENTIALS} Git credentials; delete one first"
        )
    taken = set(await session.scalars(select(GitCredential.service_user_name)))
    username = _service_user_name(user.name, account_id, taken)
    password = ids.generate_password()
    credential = GitCredential(
        id=ids.credential_id(),
        user_id=user.id,
        service_user_name=username,
        password_hash=hash_password(password),
        status="Active",
    )
    session.add(credential)
    await session.flush()
    return NewGitCredential(credential.id, username, password, user.name)


async def reset_git_credential(session: AsyncSession, credential_id: str) -> tuple[str, str]:
    """New password, same user name (IAM's ResetServiceSpecificCredential)."""
    credential = await GIT_CREDENTIALS.get(session, credential_id)
    password = ids.generate_password()
    credential.password_hash = hash_password(password)
    return credential.service_user_name, password


async def create_access_key(session: AsyncSession, user_name: str, box: SecretBox) -> NewAccessKey:
    """Generate an access key; the secret is returned here and never again.

    Raises:
        NotFound: no such user.
        LimitExceeded: the user already has two access keys.
    """
    user = await get_user(session, user_name)
    count = await session.scalar(
        select(func.count()).select_from(AccessKey).where(AccessKey.user_id == user.id)
    )
    if (count or 0) >= MAX_ACCESS_KEYS:
        raise LimitExceeded(
            f"user {user_name} already has {MAX_ACCESS_KEYS} access keys; delete one first"
        )
    key_id = ids.access_key_id()
    secret = ids.generate_secret_key()
    session.add(
        AccessKey(
            id=key_id,
            user_id=user.id,
            secret_ciphertext=box.encrypt(secret, key_id),
            status="Active",
        )
    )
    await session.flush()
    return NewAccessKey(key_id, secret, user.name)


def credential_json(credential: GitCredential, user_name: str) -> dict[str, str]:
    return {
        "ServiceSpecificCredentialId": credential.id,
        "ServiceUserName": credential.service_user_name,
        "UserName": user_name,
        "Status": credential.status,
        "CreateDate": _iso(credential.created_at),
    }


def access_key_json(key: AccessKey, user_name: str) -> dict[str, str]:
    return {
        "AccessKeyId": key.id,
        "UserName": user_name,
        "Status": key.status,
        "CreateDate": _iso(key.created_at),
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat()
