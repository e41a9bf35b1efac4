"""What the three kinds of user-owned credentials share: listing, lookup, status, delete.

HTTPS Git credentials, access keys and SSH public keys differ in how they are made and
checked, but each belongs to one user, has an IAM-style id and an Active/Inactive status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.errors import InvalidInput, NotFound
from auth.identities import get_user
from gitserver.db import AccessKey, GitCredential, SSHPublicKey, User

STATUSES = ("Active", "Inactive")

Owned = TypeVar("Owned", GitCredential, AccessKey, SSHPublicKey)


@dataclass(frozen=True, slots=True)
class OwnedKind(Generic[Owned]):
    model: type[Owned]
    label: str

    async def list(
        self, session: AsyncSession, user_name: str | None = None
    ) -> list[tuple[Owned, str]]:
        """Every item of this kind (of one user), with its owner's name."""
        query = select(self.model, User.name).join(User, User.id == self.model.user_id)
        if user_name is not None:
            query = query.where(User.name == (await get_user(session, user_name)).name)
        rows = await session.execute(query.order_by(User.name, self.model.created_at))
        return [(row[0], row[1]) for row in rows]

    async def get(self, session: AsyncSession, ident: str, owner: str | None = None) -> Owned:
        """The item `ident`; with `owner`, only if that user owns it.

        Raises:
            NotFound: no item has that id, or it is another user's: a self-service
                caller learns nothing about other users' ids.
        """
        item = await session.get(self.model, ident)
        if item is not None and owner is not None:
            user = await session.get(User, item.user_id)
            item = item if user is not None and user.name == owner else None
        if item is None:
            raise NotFound(f"{self.label} {ident} does not exist")
        return item

    async def set_status(
        self, session: AsyncSession, ident: str, status: str, owner: str | None = None
    ) -> None:
        """Activate or deactivate; the next request that presents it sees the change.
        `owner`: see `get` (the CLI, an administrator's, passes none)."""
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        (await self.get(session, ident, owner)).status = status

    async def delete(self, session: AsyncSession, ident: str, owner: str | None = None) -> None:
        await session.delete(await self.get(session, ident, owner))


GIT_CREDENTIALS = OwnedKind(GitCredential, "Git credential")
ACCESS_KEYS = OwnedKind(AccessKey, "access key")
SSH_KEYS = OwnedKind(SSHPublicKey, "SSH public key")
