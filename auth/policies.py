"""Identity policies in storage: inline on users and groups, customer-managed (versioned),
attachments of managed policies; and the compiled set a principal carries.

Documents are validated with `parse_policy` on write and stored as given; reading them
for a request only compiles them, which the compile cache makes free after the first time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from auth import ids
from auth.errors import AlreadyExists, DeleteConflict, InvalidInput, NotFound
from auth.identities import get_group, get_user
from auth.policy import (
    MANAGED_POLICIES,
    CompiledPolicy,
    PolicyError,
    PolicyKind,
    compile_policy,
    parse_policy,
)
from gitserver.db import (
    Group,
    GroupMember,
    GroupPolicy,
    GroupPolicyAttachment,
    ManagedPolicy,
    ManagedPolicyVersion,
    User,
    UserPolicy,
    UserPolicyAttachment,
)

ADMIN_POLICY = "GitServerFullAccess"
"""What `--admin` grants through policy evaluation (admins are not exempt from denies)."""

# IAM's rule for policy names: 1-128 of [\w+=,.@-].
_POLICY_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
MAX_VERSIONS = 5  # IAM keeps at most five versions of a managed policy


def validate_document(document: str, kind: PolicyKind) -> None:
    """Refuse a document that IAM would refuse, with the engine's message and JSON path."""
    try:
        parse_policy(document, kind)
    except PolicyError as exc:
        raise InvalidInput(f"{type(exc).__name__}: {exc}") from None


def _name(name: str) -> str:
    if not _POLICY_NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid policy name {name!r}: use 1-128 of letters, digits and +=,.@_-"
        )
    return name


async def put_user_policy(session: AsyncSession, user: str, name: str, document: str) -> None:
    """Create or replace the inline policy `name` of `user` (IAM's PutUserPolicy)."""
    _name(name)
    validate_document(document, PolicyKind.USER_INLINE)
    owner = await get_user(session, user)
    row = await session.get(UserPolicy, (owner.id, name))
    if row is None:
        session.add(UserPolicy(user_id=owner.id, name=name, document=document))
    else:
        row.document = document


async def put_group_policy(session: AsyncSession, group: str, name: str, document: str) -> None:
    """Create or replace the inline policy `name` of `group` (IAM's PutGroupPolicy)."""
    _name(name)
    validate_document(document, PolicyKind.GROUP_INLINE)
    owner = await get_group(session, group)
    row = await session.get(GroupPolicy, (owner.id, name))
    if row is None:
        session.add(GroupPolicy(group_id=owner.id, name=name, document=document))
    else:
        row.document = document


async def delete_user_policy(session: AsyncSession, user: str, name: str) -> None:
    owner = await get_user(session, user)
    row = await session.get(UserPolicy, (owner.id, name))
    if row is None:
        raise NotFound(f"user {user} has no inline policy {name}")
    await session.delete(row)


async def delete_group_policy(session: AsyncSession, group: str, name: str) -> None:
    owner = await get_group(session, group)
    row = await session.get(GroupPolicy, (owner.id, name))
    if row is None:
        raise NotFound(f"group {group} has no inline policy {name}")
    await session.delete(row)


async def create_policy(session: AsyncSession, name: str, document: str) -> ManagedPolicy:
    """A customer-managed policy with `document` as version 1, the default."""
    _name(name)
    if name in MANAGED_POLICIES or await _find_managed(session, name) is not None:
        raise AlreadyExists(f"policy {name} already exists")
    validate_document(document, PolicyKind.MANAGED)
    policy = ManagedPolicy(id=ids.policy_id(), name=name, default_version=1)
    session.add(policy)
    await session.flush()
    session.add(ManagedPolicyVersion(policy_id=policy.id, version=1, document=document))
    return policy


async def create_policy_version(
    session: AsyncSession, name: str, document: str, *, set_default: bool
) -> int:
    """Add a version to a customer-managed policy; returns its number."""
    policy = await _customer_policy(session, name)
    validate_document(document, PolicyKind.MANAGED)
    versions = list(
        await session.scalars(
            select(ManagedPolicyVersion.version).where(ManagedPolicyVersion.policy_id == policy.id)
        )
    )
    if len(versions) >= MAX_VERSIONS:
        raise InvalidInput(f"policy {name} already has {MAX_VERSIONS} versions (IAM's limit)")
    version = max(versions) + 1
    session.add(ManagedPolicyVersion(policy_id=policy.id, version=version, document=document))
    if set_default:
        policy.default_version = version
    return version


async def _find_managed(
    session: AsyncSession, name: str, *, lock: bool = False
) -> ManagedPolicy | None:
    query = select(ManagedPolicy).where(ManagedPolicy.name == name)
    # FOR UPDATE where a policy is deleted or changed, FOR SHARE where one is attached:
    # an attachment cannot slip in beside a delete on PostgreSQL (SQLite's writers
    # queue anyway).
    return await session.scalar(query.with_for_update() if lock else query)


async def _require_managed(session: AsyncSession, name: str) -> None:
    if name in MANAGED_POLICIES:
        return
    found = await session.scalar(
        select(ManagedPolicy.id).where(ManagedPolicy.name == name).with_for_update(read=True)
    )
    if found is None:
        raise NotFound(f"managed policy {name} does not exist")


async def _customer_policy(session: AsyncSession, name: str) -> ManagedPolicy:
    """A customer-managed policy, locked for a change.

    Raises:
        InvalidInput (a built-in policy), NotFound.
    """
    if name in MANAGED_POLICIES:
        raise InvalidInput(f"policy {name} is managed by the server and cannot be changed")
    policy = await _find_managed(session, name, lock=True)
    if policy is None:
        raise NotFound(f"policy {name} does not exist")
    return policy


_VERSION_ID = re.compile(r"v?([1-9][0-9]{0,8})")


def parse_version_id(text: str) -> int:
    """IAM's ``v3`` (or plain ``3``) as a number."""
    match = _VERSION_ID.fullmatch(text)
    if match is None:
        raise InvalidInput(f"invalid policy version {text!r}: expected v1, v2, ...")
    return int(match[1])


@dataclass(frozen=True, slots=True)
class VersionInfo:
    version: int
    is_default: bool
    created_at: datetime | None

    def as_json(self) -> dict[str, object]:
        return {
            "VersionId": f"v{self.version}",
            "IsDefaultVersion": self.is_default,
            "CreateDate": self.created_at.isoformat() if self.created_at else None,
        }


async def list_policy_versions(session: AsyncSession, name: str) -> list[VersionInfo]:
    """IAM's ListPolicyVersions, oldest first; a built-in policy has only v1."""
    if name in MANAGED_POLICIES:
        return [VersionInfo(1, True, None)]
    policy = await _find_managed(session, name)
    if policy is None:
        raise NotFound(f"policy {name} does not exist")
    rows = await session.execute(
        select(ManagedPolicyVersion.version, ManagedPolicyVersion.created_at)
        .where(ManagedPolicyVersion.policy_id == policy.id)
        .order_by(ManagedPolicyVersion.version)
    )
    return [VersionInfo(v, v == policy.default_version, at) for v, at in rows]


async def _version(session: AsyncSession, policy: ManagedPolicy, version: int) -> None:
    if await session.get(ManagedPolicyVersion, (policy.id, version)) is None:
        raise NotFound(f"policy {policy.name} has no version v{version}")


async def set_default_policy_version(session: AsyncSession, name: str, version: int) -> None:
    """IAM's SetDefaultPolicyVersion: the version in force from the next request on.

    Raises:
        InvalidInput (a built-in policy), NotFound.
    """
    policy = await _customer_policy(session, name)
    await _version(session, policy, version)
    policy.default_version = version


async def delete_policy_version(session: AsyncSession, name: str, version: int) -> None:
    """IAM's DeletePolicyVersion; the default version cannot be deleted.

    Raises:
        InvalidInput (a built-in policy), NotFound, DeleteConflict (the default version).
    """
    policy = await _customer_policy(session, name)
    await _version(session, policy, version)
    if version == policy.default_version:
        raise DeleteConflict(
            f"v{version} is the default version of policy {name}: make another version "
            "the default first, or delete the policy"
        )
    await session.execute(
        delete(ManagedPolicyVersion).where(
            ManagedPolicyVersion.policy_id == policy.id, ManagedPolicyVersion.version == version
        )
    )


async def delete_policy(session: AsyncSession, name: str) -> None:
    """IAM's DeletePolicy, refused while the policy is attached. Its versions go with it
    (IAM wants the non-default ones deleted first; the console does that for you, and
    so does this).

    Raises:
        InvalidInput (a built-in policy), NotFound, DeleteConflict (still attached).
    """
    policy = await _customer_policy(session, name)
    users = await session.scalar(
        select(func.count()).where(UserPolicyAttachment.policy_name == name)
    )
    groups = await session.scalar(
        select(func.count()).where(GroupPolicyAttachment.policy_name == name)
    )
    if users or groups:
        raise DeleteConflict(
            f"policy {name} is attached to {users or 0} user(s) and {groups or 0} group(s): "
            "detach it first"
        )
    await session.execute(
        delete(ManagedPolicyVersion).where(ManagedPolicyVersion.policy_id == policy.id)
    )
    await session.delete(policy)


async def attach_user_policy(session: AsyncSession, user: str, name: str) -> None:
    await _require_managed(session, name)
    owner = await get_user(session, user)
    if await session.get(UserPolicyAttachment, (owner.id, name)) is None:
        session.add(UserPolicyAttachment(user_id=owner.id, policy_name=name))


async def attach_group_policy(session: AsyncSession, group: str, name: str) -> None:
    await _require_managed(session, name)
    owner = await get_group(session, group)
    if await session.get(GroupPolicyAttachment, (owner.id, name)) is None:
        session.add(GroupPolicyAttachment(group_id=owner.id, policy_name=name))


async def detach_user_policy(session: AsyncSession, user: str, name: str) -> None:
    owner = await get_user(session, user)
    result = await session.execute(
        delete(UserPolicyAttachment).where(
            UserPolicyAttachment.user_id == owner.id, UserPolicyAttachment.policy_name == name
        )
    )
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound(f"policy {name} is not attached to user {user}")


async def detach_group_policy(session: AsyncSession, group: str, name: str) -> None:
    owner = await get_group(session, group)
    result = await session.execute(
        delete(GroupPolicyAttachment).where(
            GroupPolicyAttachment.group_id == owner.id, GroupPolicyAttachment.policy_name == name
        )
    )
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound(f"policy {name} is not attached to group {group}")


@dataclass(frozen=True, slots=True)
class ManagedInfo:
    name: str
    arn: str
    builtin: bool
    default_version: int
    versions: int

    def as_json(self) -> dict[str, object]:
        return {
            "PolicyName": self.name,
            "Arn": self.arn,
            "Type": "builtin" if self.builtin else "customer",
            "DefaultVersionId": f"v{self.default_version}",
            "Versions": self.versions,
        }


async def list_managed(session: AsyncSession, account_id: str) -> list[ManagedInfo]:
    """The built-in managed policies, then the customer-managed ones, by name."""
    result = [
        ManagedInfo(name, f"arn:aws:iam::aws:policy/{name}", True, 1, 1)
        for name in sorted(MANAGED_POLICIES)
    ]
    rows = await session.execute(
        select(ManagedPolicy, ManagedPolicyVersion.version)
        .join(ManagedPolicyVersion, ManagedPolicyVersion.policy_id == ManagedPolicy.id)
        .order_by(ManagedPolicy.name)
    )
    counts: dict[str, tuple[ManagedPolicy, int]] = {}
    for policy, _ in rows:
        counts[policy.name] = (policy, counts.get(policy.name, (policy, 0))[1] + 1)
    for name, (policy, versions) in counts.items():
        arn = f"arn:aws:iam::{account_id}:policy/{name}"
        result.append(ManagedInfo(name, arn, False, policy.default_version, versions))
    return result


@dataclass(frozen=True, slots=True)
class PolicyEntry:
    owner_type: str  # user, group
    owner: str
    name: str
    kind: str  # inline, attached

    def as_json(self) -> dict[str, str]:
        return {
            "OwnerType": self.owner_type,
            "OwnerName": self.owner,
            "PolicyName": self.name,
            "Kind": self.kind,
        }


async def list_policies(
    session: AsyncSession, *, user: str | None = None, group: str | None = None
) -> list[PolicyEntry]:
    """Inline and attached policies of one user, one group, or everyone."""
    user_id = (await get_user(session, user)).id if user else None
    group_id = (await get_group(session, group)).id if group else None
    entries: list[PolicyEntry] = []
    if group is None:
        user_queries = (
            select(User.name, UserPolicy.name, literal("inline")).join(
                UserPolicy, UserPolicy.user_id == User.id
            ),
            select(User.name, UserPolicyAttachment.policy_name, literal("attached")).join(
                UserPolicyAttachment, UserPolicyAttachment.user_id == User.id
            ),
        )
        for query in user_queries:
            if user_id is not None:
                query = query.where(User.id == user_id)
            for owner, name, kind in await session.execute(query):
                entries.append(PolicyEntry("user", owner, name, kind))
    if user is None:
        group_queries = (
            select(Group.name, GroupPolicy.name, literal("inline")).join(
                GroupPolicy, GroupPolicy.group_id == Group.id
            ),
            select(Group.name, GroupPolicyAttachment.policy_name, literal("attached")).join(
                GroupPolicyAttachment, GroupPolicyAttachment.group_id == Group.id
            ),
        )
        for query in group_queries:
            if group_id is not None:
                query = query.where(Group.id == group_id)
            for owner, name, kind in await session.execute(query):
                entries.append(PolicyEntry("group", owner, name, kind))
    return sorted(entries, key=lambda e: (e.owner_type, e.owner, e.kind, e.name))


async def principal_policies(
    session: AsyncSession, user_id: str, *, admin: bool
) -> tuple[CompiledPolicy, ...]:
    """Every policy in force for a user, compiled: the user's inline and attached policies
    and those of each of its groups (one query); admins also get `GitServerFullAccess`.

    Decisions name a statement ``<policy name>/<Sid>``, as IAM's simulator names the
    source policy.
    """
    groups = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
    default_doc = (
        select(ManagedPolicyVersion.document)
        .join(ManagedPolicy, ManagedPolicy.id == ManagedPolicyVersion.policy_id)
        .where(ManagedPolicyVersion.version == ManagedPolicy.default_version)
    )
    user_attached = select(
        literal("managed").label("kind"),
        UserPolicyAttachment.policy_name.label("name"),
        default_doc.where(ManagedPolicy.name == UserPolicyAttachment.policy_name)
        .scalar_subquery()
        .label("document"),
    ).where(UserPolicyAttachment.user_id == user_id)
    group_attached = select(
        literal("managed"),
        GroupPolicyAttachment.policy_name,
        default_doc.where(
            ManagedPolicy.name == GroupPolicyAttachment.policy_name
        ).scalar_subquery(),
    ).where(GroupPolicyAttachment.group_id.in_(groups))
    query = union_all(
        select(literal("inline"), UserPolicy.name, UserPolicy.document).where(
            UserPolicy.user_id == user_id
        ),
        select(literal("inline"), GroupPolicy.name, GroupPolicy.document).where(
            GroupPolicy.group_id.in_(groups)
        ),
        user_attached,
        group_attached,
    )
    compiled: list[CompiledPolicy] = []
    # Attached through several owners, a managed policy still counts once.
    managed: dict[str, str | None] = {ADMIN_POLICY: None} if admin else {}
    for kind, name, document in await session.execute(query):
        if kind == "inline":
            compiled.append(compile_policy(document, name))
        else:
            managed.setdefault(name, document)  # None: a built-in
    for name, document in sorted(managed.items()):
        text = document if document is not None else MANAGED_POLICIES.get(name)
        if text is not None:
            compiled.append(compile_policy(text, name))
    return tuple(compiled)
