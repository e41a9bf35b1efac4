"""Loading a `Principal`: the user, its groups and tags (`identities`) and its compiled
policies (`policies`), read once per request.

It sits above both modules so that neither imports the other's caller: `policies` finds
policy owners through `identities`, and nothing in `identities` needs `policies`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ScalarSelect, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.identities import user_groups
from auth.policies import principal_policies
from auth.policy import CompiledPolicy
from auth.principal import Principal
from gitserver.db import AuthEpoch, User
from gitserver.tags import stored_tags


async def load_principal(
    session: AsyncSession, user: User, account_id: str, authenticated_by: str
) -> Principal:
    """Everything policy evaluation needs about `user`, read once per request."""
    return Principal(
        user_id=user.id,
        name=user.name,
        arn=f"arn:aws:iam::{account_id}:user/{user.name}",
        is_admin=user.is_admin,
        groups=await user_groups(session, user.id),
        tags=stored_tags(user.tags),
        authenticated_by=authenticated_by,
        policies=await principal_policies(session, user.id, admin=user.is_admin),
    )


async def principal_named(
    session: AsyncSession, name: str, account_id: str, authenticated_by: str
) -> Principal | None:
    """The `Principal` of the user called `name` as it is now; None if there is none."""
    user = await session.scalar(select(User).where(User.name == name))
    if user is None:
        return None
    return await load_principal(session, user, account_id, authenticated_by)


def auth_epoch() -> ScalarSelect[int]:
    """The auth epoch as a column of another statement: a credential's lookup reads it
    in the same round trip and snapshot as the user (`PrincipalCache`)."""
    return select(AuthEpoch.value).where(AuthEpoch.id == 1).scalar_subquery()


class Owner(Protocol):
    """What a principal is built from besides its groups and policies: a `User` row, or
    the same columns read beside a credential (`auth.authenticate.KeyRecord`)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def is_admin(self) -> bool: ...
    @property
    def tags(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class CacheEntry:
    epoch: int
    groups: tuple[str, ...]
    policies: tuple[CompiledPolicy, ...]


class PrincipalCache:
    """Each user's groups and compiled policies, as read at an auth epoch.

    Database triggers move the epoch in the transaction of every change to users,
    groups, policies and attachments, whichever process makes it (migration 0011). A
    request reads the epoch with its credential, so an entry read at that same epoch is
    current, and a change applies to the very next request; an entry from an older one
    is read again. The groups and policies are read after the epoch, so an entry is
    never older than the epoch it is filed under. One per process, bounded.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def load(
        self,
        session: AsyncSession,
        user: Owner,
        epoch: int | None,
        account_id: str,
        authenticated_by: str,
    ) -> Principal:
        """`load_principal`, from the cache when `epoch` is the entry's."""
        cached = self.lookup(user.id, epoch)
        if cached is None:
            cached = await self.read(session, user, epoch)
        return self.principal(user, cached, account_id, authenticated_by)

    def lookup(self, user_id: str, epoch: int | None) -> CacheEntry | None:
        """The entry of `user_id` if it was read at `epoch`; None (a miss) otherwise."""
        cached = self._entries.get(user_id)
        if epoch is None or cached is None or cached.epoch != epoch:
            self.misses += 1
            return None
        self.hits += 1
        return cached

    async def read(self, session: AsyncSession, user: Owner, epoch: int | None) -> CacheEntry:
        """Read the user's groups and policies, and file them under `epoch`.

        `session` must have read `epoch` first, or start after it was read: the entry
        is then never older than its epoch (a change between the two makes it newer,
        and the next request, reading the moved epoch, reads it again).
        """
        cached = CacheEntry(
            epoch if epoch is not None else -1,
            await user_groups(session, user.id),
            await principal_policies(session, user.id, admin=user.is_admin),
        )
        if epoch is not None:
            self._entries[user.id] = cached
            self._entries.move_to_end(user.id)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return cached

    @staticmethod
    def principal(
        user: Owner, cached: CacheEntry, account_id: str, authenticated_by: str
    ) -> Principal:
        """The `Principal` of `user` with its entry; the tags are the row's, read with the
        credential on every request, so they are never the cache's."""
        return Principal(
            user_id=user.id,
            name=user.name,
            arn=f"arn:aws:iam::{account_id}:user/{user.name}",
            is_admin=user.is_admin,
            groups=cached.groups,
            tags=stored_tags(user.tags),
            authenticated_by=authenticated_by,
            policies=cached.policies,
        )
