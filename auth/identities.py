"""Users and groups. Functions take the caller's session: one unit of work per request."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import ids
from auth.errors import AlreadyExists, InvalidInput, LimitExceeded, NotFound
from auth.passwords import hash_password, weakness
from gitserver.db import Group, GroupMember, User
from gitserver.tags import TagRule, TagRuleError, merge_tags, remove_tags, stored_tags

# IAM's rules: user names 1-64, group names 1-128, of [\w+=,.@-].
_USER_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_GROUP_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)


@dataclass(frozen=True, slots=True)
class UserInfo:
    user_id: str
    name: str
    is_admin: bool
    groups: tuple[str, ...]
    created_at: datetime
    tags: dict[str, str]

    def as_json(self) -> dict[str, object]:
        return {
            "UserId": self.user_id,
            "UserName": self.name,
            "Admin": self.is_admin,
            "Groups": list(self.groups),
            "CreateDate": self.created_at.isoformat(),
            # IAM's shape: a list of {Key, Value}, sorted here for stable output.
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())],
        }


def validate_user_name(name: str) -> str:
    if not _USER_NAME.fullmatch(name):
        raise InvalidInput(f"invalid user name {name!r}: use 1-64 of letters, digits and +=,.@_-")
    return name


def _checked(password: str) -> str:
    """The password rule every front end that sets one applies (the CLI's `--password-stdin`
    and the web UI's admin pages alike)."""
    problem = weakness(password)
    if problem:
        raise InvalidInput(problem)
    return password


async def create_user(
    session: AsyncSession, name: str, *, admin: bool = False, password: str | None = None
) -> User:
    """Create a user; IAM names are case-insensitive for uniqueness.

    Raises:
        InvalidInput (the name, or a password too weak), AlreadyExists.
    """
    validate_user_name(name)
    if password is not None:
        _checked(password)
    existing = await session.scalar(select(User.id).where(func.lower(User.name) == name.lower()))
    if existing:
        raise AlreadyExists(f"user {name} already exists")
    user = User(
        id=ids.user_id(),
        name=name,
        is_admin=admin,
        password_hash=hash_password(password) if password else None,
        tags={},
    )
    session.add(user)
    await session.flush()
    return user


async def get_user(session: AsyncSession, name: str, *, for_update: bool = False) -> User:
    query = select(User).where(User.name == name)
    # A read-modify-write (tags) must not lose a concurrent one on PostgreSQL.
    user = await session.scalar(query.with_for_update() if for_update else query)
    if user is None:
        raise NotFound(f"user {name} does not exist")
    return user


async def user_groups(session: AsyncSession, user_id: str) -> tuple[str, ...]:
    rows = await session.scalars(
        select(Group.name)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.user_id == user_id)
        .order_by(Group.name)
    )
    return tuple(rows)


async def _info(session: AsyncSession, user: User) -> UserInfo:
    groups = await user_groups(session, user.id)
    return UserInfo(
        user.id, user.name, user.is_admin, groups, user.created_at, stored_tags(user.tags)
    )


async def list_users(session: AsyncSession) -> list[UserInfo]:
    return [
        await _info(session, u) for u in await session.scalars(select(User).order_by(User.name))
    ]


async def get_user_info(session: AsyncSession, name: str) -> UserInfo:
    return await _info(session, await get_user(session, name))


async def _retag(
    session: AsyncSession, name: str, change: Callable[[dict[str, str]], dict[str, str]]
) -> dict[str, str]:
    user = await get_user(session, name, for_update=True)
    try:
        user.tags = change(stored_tags(user.tags))
    except TagRuleError as exc:
        error = LimitExceeded if exc.rule is TagRule.TOO_MANY else InvalidInput
        raise error(str(exc)) from None
    return dict(user.tags)


async def tag_user(session: AsyncSession, name: str, tags: Mapping[str, str]) -> dict[str, str]:
    """Add or replace tags of a user (IAM's TagUser: keys case-insensitive); all tags after.

    Raises:
        NotFound, InvalidInput (a bad key or value, an ``aws:`` key), LimitExceeded (> 50).
    """
    return await _retag(session, name, lambda old: merge_tags(old, tags, case_sensitive=False))


async def untag_user(session: AsyncSession, name: str, keys: Sequence[str]) -> dict[str, str]:
    """Remove tags of a user by key (case-insensitive; absent keys are ignored, as IAM does).

    Raises:
        NotFound, InvalidInput.
    """
    return await _retag(session, name, lambda old: remove_tags(old, keys, case_sensitive=False))


async def delete_user(session: AsyncSession, name: str) -> None:
    user = await get_user(session, name)
    await session.delete(user)


async def set_password(session: AsyncSession, name: str, password: str) -> None:
    _checked(password)
    user = await get_user(session, name)
    user.password_hash = hash_password(password)


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def create_group(session: AsyncSession, name: str) -> Group:
    if not _GROUP_NAME.fullmatch(name):
        raise InvalidInput(f"invalid group name {name!r}: use 1-128 of letters, digits and +=,.@_-")
    existing = await session.scalar(select(Group.id).where(func.lower(Group.name) == name.lower()))
    if existing:
        raise AlreadyExists(f"group {name} already exists")
    group = Group(id=ids.group_id(), name=name)
    session.add(group)
    await session.flush()
    return group


async def get_group(session: AsyncSession, name: str) -> Group:
    group = await session.scalar(select(Group).where(Group.name == name))
    if group is None:
        raise NotFound(f"group {name} does not exist")
    return group


async def group_members(session: AsyncSession, group: Group) -> list[str]:
    """The names of `group`'s users, sorted."""
    members = await session.scalars(
        select(User.name)
        .join(GroupMember, GroupMember.user_id == User.id)
        .where(GroupMember.group_id == group.id)
        .order_by(User.name)
    )
    return list(members)


async def list_groups(session: AsyncSession) -> list[tuple[Group, list[str]]]:
    groups = await session.scalars(select(Group).order_by(Group.name))
    return [(group, await group_members(session, group)) for group in groups]


async def delete_group(session: AsyncSession, name: str) -> None:
    await session.delete(await get_group(session, name))


async def add_user_to_group(session: AsyncSession, group_name: str, user_name: str) -> None:
    group = await get_group(session, group_name)
    user = await get_user(session, user_name)
    if await session.get(GroupMember, (group.id, user.id)) is None:
        session.add(GroupMember(group_id=group.id, user_id=user.id))


async def remove_user_from_group(session: AsyncSession, group_name: str, user_name: str) -> None:
    group = await get_group(session, group_name)
    user = await get_user(session, user_name)
    result = await session.execute(
        delete(GroupMember).where(GroupMember.group_id == group.id, GroupMember.user_id == user.id)
    )
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound(f"user {user_name} is not in group {group_name}")
