"""Identity policies in storage: inline on users and groups, customer-managed (versioned),
attachments of managed policies; and the compiled set a principal carries.

Documents are validated with `parse_policy` on write and stored as given; reading them
for a request only compiles them, which the compile cache makes free after the first time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from auth import ids
from auth.errors import AlreadyExists, DeleteConflict, InvalidInput, MalformedPolicy, NotFound
from auth.identities import get_group, get_user
from auth.policy import (
    MANAGED_POLICIES,
    CompiledPolicy,
    PolicyError,
    PolicyKind,
    compile_policy,
    parse_policy,
)
from auth.policy.locate import line_column
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
ADMIN_POLICIES = (ADMIN_POLICY, "GitServerIAMFullAccess")
"""What `--admin` grants through policy evaluation (admins are not exempt from denies):
CodeCommit and the server's administration."""

# IAM's rule for policy names: 1-128 of [\w+=,.@-].
_POLICY_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
MAX_VERSIONS = 5  # IAM keeps at most five versions of a managed policy


def validate_document(document: str, kind: PolicyKind) -> None:
    """Refuse a document that IAM would refuse, with the engine's message and JSON path.

    Raises:
        MalformedPolicy: with the line and column of the engine's offset, when it had one.
    """
    try:
        parse_policy(document, kind)
    except PolicyError as exc:
        line, column = line_column(document, exc.offset) if exc.offset is not None else (None, None)
        raise MalformedPolicy(f"{type(exc).__name__}: {exc}", line, column) from None


def _name(name: str) -> str:
    if not _POLICY_NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid policy name {name!r}: use 1-128 of letters, digits and +=,.@_-"
        )
    return name


@dataclass(frozen=True, slots=True)
class OwnerType:
    """What differs between the two kinds of policy owner, users and groups: the inline
    policy and attachment tables, the owner column they share, the inline size limit."""

    name: str  # user, group
    model: type[User] | type[Group]
    inline: type[UserPolicy] | type[GroupPolicy]
    attachment: type[UserPolicyAttachment] | type[GroupPolicyAttachment]
    column: str  # the owner's id in both tables
    kind: PolicyKind

    async def find(self, session: AsyncSession, name: str) -> User | Group:
        """The owner by name.

        Raises:
            NotFound.
        """
        return await (get_user if self.model is User else get_group)(session, name)

    def owned_by(self, table: Any, owner_id: Any) -> ColumnElement[bool]:
        """``table.<owner column> == owner_id`` (or ``IN`` for a subquery)."""
        column: InstrumentedAttribute[str] = getattr(table, self.column)
        return column.in_(owner_id) if isinstance(owner_id, Select) else column == owner_id


USER = OwnerType("user", User, UserPolicy, UserPolicyAttachment, "user_id", PolicyKind.USER_INLINE)
GROUP = OwnerType(
    "group", Group, GroupPolicy, GroupPolicyAttachment, "group_id", PolicyKind.GROUP_INLINE
)
OWNER_TYPES = {owner_type.name: owner_type for owner_type in (USER, GROUP)}


async def put_inline_policy(
    session: AsyncSession, owner_type: OwnerType, owner: str, name: str, document: str
) -> None:
    """Create or replace the inline policy `name` of a user or group (IAM's
    PutUserPolicy / PutGroupPolicy).

    Raises:
        InvalidInput (the name or the document), NotFound (the owner).
    """
    _name(name)
    validate_document(document, owner_type.kind)
    found = await owner_type.find(session, owner)
    row: UserPolicy | GroupPolicy | None = await session.get(owner_type.inline, (found.id, name))
    if row is None:
        fields = {owner_type.column: found.id, "name": name, "document": document}
        session.add(owner_type.inline(**fields))
    else:
        row.document = document


async def delete_inline_policy(
    session: AsyncSession, owner_type: OwnerType, owner: str, name: str
) -> None:
    """IAM's DeleteUserPolicy / DeleteGroupPolicy.

    Raises:
        NotFound (the owner or the policy).
    """
    found = await owner_type.find(session, owner)
    row = await session.get(owner_type.inline, (found.id, name))
    if row is None:
        raise NotFound(f"{owner_type.name} {owner} has no inline policy {name}")
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


async def policy_document(session: AsyncSession, name: str) -> str:
    """IAM's GetPolicy + GetPolicyVersion of the default version: the document in force.

    Raises:
        NotFound.
    """
    builtin = MANAGED_POLICIES.get(name)
    if builtin is not None:
        return builtin
    policy = await _find_managed(session, name)
    if policy is None:
        raise NotFound(f"policy {name} does not exist")
    row = await session.get(ManagedPolicyVersion, (policy.id, policy.default_version))
    if row is None:  # a default version is never deleted (delete_policy_version)
        raise NotFound(f"policy {name} has no version v{policy.default_version}")
    return row.document


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


async def attach_policy(
    session: AsyncSession, owner_type: OwnerType, owner: str, name: str
) -> None:
    """Attach a managed policy (built-in or customer) to a user or group; idempotent.

    Raises:
        NotFound (the owner or the policy).
    """
    await _require_managed(session, name)
    found = await owner_type.find(session, owner)
    if await session.get(owner_type.attachment, (found.id, name)) is None:
        fields = {owner_type.column: found.id, "policy_name": name}
        session.add(owner_type.attachment(**fields))


async def detach_policy(
    session: AsyncSession, owner_type: OwnerType, owner: str, name: str
) -> None:
    """Detach a managed policy from a user or group.

    Raises:
        NotFound (the owner, or the policy is not attached to it).
    """
    found = await owner_type.find(session, owner)
    attachment = owner_type.attachment
    result = await session.execute(
        delete(attachment).where(
            owner_type.owned_by(attachment, found.id), attachment.policy_name == name
        )
    )
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound(f"policy {name} is not attached to {owner_type.name} {owner}")


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
    wanted = {USER: user, GROUP: group}
    entries: list[PolicyEntry] = []
    for owner_type, only in wanted.items():
        if (user or group) and only is None:
            continue
        model, inline, attachment = owner_type.model, owner_type.inline, owner_type.attachment
        queries = (
            select(model.name, inline.name, literal("inline")).join(
                inline, owner_type.owned_by(inline, model.id)
            ),
            select(model.name, attachment.policy_name, literal("attached")).join(
                attachment, owner_type.owned_by(attachment, model.id)
            ),
        )
        owner_id = (await owner_type.find(session, only)).id if only else None
        for query in queries:
            if owner_id is not None:
                query = query.where(model.id == owner_id)
            for owner, name, kind in await session.execute(query):
                entries.append(PolicyEntry(owner_type.name, owner, name, kind))
    return sorted(entries, key=lambda e: (e.owner_type, e.owner, e.kind, e.name))


async def principal_policies(
    session: AsyncSession, user_id: str, *, admin: bool
) -> tuple[CompiledPolicy, ...]:
    """Every policy in force for a user, compiled: the user's inline and attached policies
    and those of each of its groups (one query); admins also get `ADMIN_POLICIES`.

    Decisions name a statement ``<policy name>/<Sid>``, as IAM's simulator names the
    source policy.
    """
    default_doc = (
        select(ManagedPolicyVersion.document)
        .join(ManagedPolicy, ManagedPolicy.id == ManagedPolicyVersion.policy_id)
        .where(ManagedPolicyVersion.version == ManagedPolicy.default_version)
    )
    owners = {
        USER: user_id,
        GROUP: select(GroupMember.group_id).where(GroupMember.user_id == user_id),
    }
    parts: list[Select[str, str, Any]] = []  # documents: None for built-ins
    for owner_type, owner_id in owners.items():
        inline, attachment = owner_type.inline, owner_type.attachment
        parts.append(
            select(
                literal("inline").label("kind"),
                inline.name.label("name"),
                inline.document.label("document"),
            ).where(owner_type.owned_by(inline, owner_id))
        )
        parts.append(
            select(
                literal("managed"),
                attachment.policy_name,
                default_doc.where(ManagedPolicy.name == attachment.policy_name).scalar_subquery(),
            ).where(owner_type.owned_by(attachment, owner_id))
        )
    query = union_all(*parts)
    compiled: list[CompiledPolicy] = []
    # Attached through several owners, a managed policy still counts once.
    managed: dict[str, str | None] = dict.fromkeys(ADMIN_POLICIES) if admin else {}
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
