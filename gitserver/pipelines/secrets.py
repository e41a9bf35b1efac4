"""The build secret store: values sealed with the server key (AES-GCM), names in clear.

A buildspec's `env.secrets-manager` / `env.parameter-store` entries and CodeBuild
`EnvironmentVariables` of type SECRETS_MANAGER or PARAMETER_STORE name a secret here;
the runner resolves them just before the build and masks their values in its log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.secretbox import SecretBox
from gitserver.db import SecretRow, utcnow
from gitserver.pipelines.definitions import PipelineValidation
from gitserver.pipelines.errors import SecretNotFound

NAME = re.compile(r"[A-Za-z0-9/_+=.@\-:]{1,256}")
MAX_VALUE = 65536
_PURPOSE = "pipeline-secret:"


def _check(name: str, value: str | None = None) -> None:
    if not NAME.fullmatch(name):
        raise PipelineValidation(f"a secret name must match {NAME.pattern}")
    if value is not None and not 1 <= len(value.encode()) <= MAX_VALUE:
        raise PipelineValidation(f"a secret value must be 1 to {MAX_VALUE} bytes")


async def put_secret(session: AsyncSession, box: SecretBox, name: str, value: str) -> bool:
    """Store or replace a secret; True when it is new.

    Raises:
        PipelineValidation: a malformed name, an empty or oversized value.
    """
    _check(name, value)
    sealed = box.encrypt(value, _PURPOSE + name)
    row = await session.get(SecretRow, name)
    if row is None:
        session.add(SecretRow(name=name, ciphertext=sealed))
        return True
    row.ciphertext = sealed
    row.updated_at = utcnow()
    return False


async def list_secrets(session: AsyncSession) -> list[str]:
    """The secrets' names (never their values)."""
    return list(await session.scalars(select(SecretRow.name).order_by(SecretRow.name)))


async def delete_secret(session: AsyncSession, name: str) -> None:
    """Delete a secret.

    Raises:
        SecretNotFound: no secret of that name.
    """
    row = await session.get(SecretRow, name)
    if row is None:
        raise SecretNotFound(f"Secret {name} does not exist")
    await session.delete(row)


async def resolve_secrets(
    session: AsyncSession, box: SecretBox, names: Iterable[str]
) -> dict[str, str]:
    """The values of the named secrets that exist (the build reports the missing ones)."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    rows = await session.scalars(select(SecretRow).where(SecretRow.name.in_(wanted)))
    return {row.name: box.decrypt(row.ciphertext, _PURPOSE + row.name) for row in rows}
