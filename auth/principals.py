"""Loading a `Principal`: the user, its groups and tags (`identities`) and its compiled
policies (`policies`), read once per request.

It sits above both modules so that neither imports the other's caller: `policies` finds
policy owners through `identities`, and nothing in `identities` needs `policies`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class _Cached:
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
        self._entries: OrderedDict[str, _Cached] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def load(
        self,
        session: AsyncSession,
        user: User,
        epoch: int | None,
        account_id: str,
        authenticated_by: str,
    ) -> Principal:
        """`load_principal`, from the cache when `epoch` is the entry's."""
        cached = self._entries.get(user.id)
        if epoch is None or cached is None or cached.epoch != epoch:
            self.misses += 1
            cached = _Cached(
                epoch if epoch is not None else -1,
                await user_groups(session, user.id),
                await principal_policies(session, user.id, admin=user.is_admin),
            )
            if epoch is not None:
                self._entries[user.id] = cached
                self._entries.move_to_end(user.id)
                while len(self._entries) > self._capacity:
                    self._entries.popitem(last=False)
        else:
            self.hits += 1
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
