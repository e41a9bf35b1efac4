"""Loading a `Principal`: the user, its groups and tags (`identities`) and its compiled
policies (`policies`), read once per request.

It sits above both modules so that neither imports the other's caller: `policies` finds
policy owners through `identities`, and nothing in `identities` needs `policies`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.identities import user_groups
from auth.policies import principal_policies
from auth.principal import Principal
from gitserver.db import User
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
