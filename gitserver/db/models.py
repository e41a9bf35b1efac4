"""SQLAlchemy models: the metadata that sits beside the bare repositories."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class UserPolicy(Base):
    """An inline policy embedded in one user (IAM's PutUserPolicy)."""

    __tablename__ = "user_policies"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupPolicy(Base):
    """An inline policy embedded in one group (IAM's PutGroupPolicy)."""

    __tablename__ = "group_policies"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ManagedPolicy(Base):
    """A customer-managed policy: versioned, one version is the default (the one in force)."""

    __tablename__ = "managed_policies"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    default_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ManagedPolicyVersion(Base):
    __tablename__ = "managed_policy_versions"

    policy_id: Mapped[str] = mapped_column(
        ForeignKey("managed_policies.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserPolicyAttachment(Base):
    """A managed policy (built-in or customer-managed, by name) attached to a user."""

    __tablename__ = "user_policy_attachments"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    policy_name: Mapped[str] = mapped_column(String(128), primary_key=True)


class GroupPolicyAttachment(Base):
    """A managed policy (built-in or customer-managed, by name) attached to a group."""

    __tablename__ = "group_policy_attachments"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    policy_name: Mapped[str] = mapped_column(String(128), primary_key=True)


class GitCredential(Base):
    """HTTPS Git credentials, CodeCommit's service-specific credentials."""

    __tablename__ = "git_credentials"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    service_user_name: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="Active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessKey(Base):
    """SigV4 access keys. The secret is encrypted with the server key, never hashed:
    verifying a signature needs the secret itself."""

    __tablename__ = "access_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="Active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SSHPublicKey(Base):
    """An SSH public key, IAM's `SSHPublicKey`: one owner; the SHA256 fingerprint is unique."""

    __tablename__ = "ssh_public_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    algorithm: Mapped[str] = mapped_column(String(64))
    bits: Mapped[int] = mapped_column(Integer)
    fingerprint_md5: Mapped[str] = mapped_column(String(64))
    fingerprint_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="Active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Repository(Base):
    __tablename__ = "repositories"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    default_branch: Mapped[str | None] = mapped_column(String(256))
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Bumped under the row lock by every ref-state change: serializes the outbox writers
    # of one repository across processes (a plain UPDATE locks on SQLite and PostgreSQL).
    ref_version: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    pushed_at: Mapped[datetime | None] = mapped_column()
    maintained_at: Mapped[datetime | None] = mapped_column()


class Ref(Base):
    """The last value of every ref that the server knows; the reconciler diffs against it."""

    __tablename__ = "refs"

    repository_id: Mapped[str] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(1024), primary_key=True)
    target: Mapped[str] = mapped_column(String(64))


class RefUpdate(Base):
    """One ref change seen by git's reference-transaction hook.

    `prepared` is written before git commits the change; `committed`/`aborted` after.
    A row stuck in `prepared` (the process died in between) is resolved by the
    reconciler from what the ref really holds.
    """

    __tablename__ = "ref_updates"
    __table_args__ = (Index("ix_ref_updates_state", "state", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository_id: Mapped[str] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), index=True
    )
    push_id: Mapped[str] = mapped_column(String(36), index=True)
    ref: Mapped[str] = mapped_column(String(1024))
    old: Mapped[str] = mapped_column(String(64))
    new: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="prepared")
    actor: Mapped[str] = mapped_column(String(64))
    transport: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()
    # A merge made through the API: the fields its `referenceUpdated` carries, kept on the
    # row so the reconciler writes the same event after a crash.
    merge: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class EventRow(Base):
    """The outbox: every event, stored before anyone is told."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    time: Mapped[datetime] = mapped_column(default=utcnow)
    type: Mapped[str] = mapped_column(String(64), index=True)
    # No foreign key: events outlive the repository they are about.
    repository_id: Mapped[str | None] = mapped_column(String(36), index=True)
    repository_name: Mapped[str | None] = mapped_column(String(100))
    actor: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AuditRecord(Base):
    """One authorization decision worth keeping (CloudTrail-like): every decision on a
    mutating action and every denial. Nothing secret: no credentials, no request bodies."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_principal_time", "principal", "time"),
        Index("ix_audit_log_action_time", "action", "time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    principal: Mapped[str] = mapped_column(String(64))
    principal_arn: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(128))
    resource: Mapped[str] = mapped_column(String(1024))
    source_ip: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(512))
    transport: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    # Non-secret particulars: the refs a push touched, the deciding statements.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Subscription(Base):
    """Who hears of events: a webhook, a CodeCommit repository trigger or a notification
    target. `repository_id` None means every repository (server-wide webhooks)."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # webhook, trigger, notification
    repository_id: Mapped[str | None] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(128), default="")
    url: Mapped[str] = mapped_column(Text)
    # AES-GCM ciphertext of the signing secret (or SMTP/chat credentials); empty: none.
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    branches: Mapped[list[str]] = mapped_column(JSON, default=list)
    format: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    timeout: Mapped[float] = mapped_column(default=10.0)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One event on its way to one subscription; `id` is the stable delivery id."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        Index("ix_deliveries_order", "subscription_id", "repository_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    event_seq: Mapped[int | None] = mapped_column(Integer)  # None: a test or ping
    event_type: Mapped[str] = mapped_column(String(64))
    repository_id: Mapped[str] = mapped_column(String(36), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # ping/test events
    # pending -> in_flight -> succeeded | failed; in_flight past lease_until is pending.
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    event_time: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column()
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")


class DeliveryAttempt(Base):
    """Every attempt, as sent and as answered (secrets masked, response cut short)."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    url: Mapped[str] = mapped_column(Text, default="")
    request_headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    request_body: Mapped[str] = mapped_column(Text, default="")
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")


class DispatchCursor(Base):
    """How far fan-out has read the outbox: one row, locked by whoever fans out."""

    __tablename__ = "dispatch_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class PullRequest(Base):
    """A pull request: one source and one destination ref in one repository.

    `id` is CodeCommit's numeric pull request id (a string on the wire). The commits
    and `revision_id` are kept current as the refs move; `stale` says a ref moved and
    the follower (`store/pullsync.py`) has not yet brought the row up to date.
    """

    __tablename__ = "pull_requests"
    __table_args__ = (
        Index("ix_pull_requests_repository_status", "repository_id", "status"),
        Index("ix_pull_requests_open_refs", "repository_id", "status", "stale"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository_id: Mapped[str] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(150))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(8), default="OPEN")  # OPEN | CLOSED
    author: Mapped[str] = mapped_column(String(64))
    author_arn: Mapped[str] = mapped_column(String(256), index=True)
    # Idempotency: the token and a digest of the input it was first used with.
    client_request_token: Mapped[str | None] = mapped_column(String(256), unique=True)
    request_digest: Mapped[str] = mapped_column(String(64), default="")
    source_ref: Mapped[str] = mapped_column(String(1024))
    destination_ref: Mapped[str] = mapped_column(String(1024))
    source_commit: Mapped[str] = mapped_column(String(64))
    destination_commit: Mapped[str] = mapped_column(String(64))
    merge_base: Mapped[str] = mapped_column(String(64), default="")
    revision_id: Mapped[str] = mapped_column(String(64))
    is_merged: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_by: Mapped[str] = mapped_column(String(256), default="")
    merge_commit_id: Mapped[str] = mapped_column(String(64), default="")
    merge_option: Mapped[str] = mapped_column(String(32), default="")
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    stale_actor: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PullRequestEvent(Base):
    """DescribePullRequestEvents' history: one row per change, with its metadata."""

    __tablename__ = "pull_request_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pull_request_id: Mapped[int] = mapped_column(
        ForeignKey("pull_requests.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(64))  # PULL_REQUEST_CREATED, ...
    actor_arn: Mapped[str] = mapped_column(String(256))
    time: Mapped[datetime] = mapped_column(default=utcnow)
    # The `*EventMetadata` member's name and value, as the API returns them.
    metadata_key: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PullRequestApproval(Base):
    """A user's approval state on one revision: approvals of older revisions never count."""

    __tablename__ = "pull_request_approvals"

    pull_request_id: Mapped[int] = mapped_column(
        ForeignKey("pull_requests.id", ondelete="CASCADE"), primary_key=True
    )
    revision_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_arn: Mapped[str] = mapped_column(String(256), primary_key=True)
    state: Mapped[str] = mapped_column(String(8))  # APPROVE | REVOKE
    time: Mapped[datetime] = mapped_column(default=utcnow)


class PullRequestOverride(Base):
    """An override of the approval rules for one revision (OverridePullRequestApprovalRules)."""

    __tablename__ = "pull_request_overrides"

    pull_request_id: Mapped[int] = mapped_column(
        ForeignKey("pull_requests.id", ondelete="CASCADE"), primary_key=True
    )
    revision_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    overrider_arn: Mapped[str] = mapped_column(String(256))
    time: Mapped[datetime] = mapped_column(default=utcnow)


class ApprovalRule(Base):
    """An approval rule of one pull request (its own, or copied from a template)."""

    __tablename__ = "approval_rules"
    __table_args__ = (Index("ux_approval_rules_pr_name", "pull_request_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    pull_request_id: Mapped[int] = mapped_column(
        ForeignKey("pull_requests.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(36), default="")
    template_name: Mapped[str] = mapped_column(String(100), default="")
    last_modified_user: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApprovalRuleTemplate(Base):
    """An approval rule template, applied to new pull requests in associated repositories."""

    __tablename__ = "approval_rule_templates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    last_modified_user: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TemplateAssociation(Base):
    __tablename__ = "approval_rule_template_repositories"

    template_id: Mapped[str] = mapped_column(
        ForeignKey("approval_rule_templates.id", ondelete="CASCADE"), primary_key=True
    )
    repository_id: Mapped[str] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Comment(Base):
    """A comment on a pull request or on a compared commit pair; located when `file_path`.

    The location is kept as written (`before_*`/`after_*`, `file_position`,
    `relative_version`); `current_*` carry an AFTER comment to
    the newest revision while its line is unchanged, and `outdated` marks one whose line
    changed or went away.
    """

    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_pull_request", "pull_request_id"),
        Index("ix_comments_commits", "repository_id", "before_commit", "after_commit"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    repository_id: Mapped[str] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    pull_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("pull_requests.id", ondelete="CASCADE")
    )
    before_commit: Mapped[str] = mapped_column(String(64), default="")
    after_commit: Mapped[str] = mapped_column(String(64))
    before_blob: Mapped[str] = mapped_column(String(64), default="")
    after_blob: Mapped[str] = mapped_column(String(64), default="")
    file_path: Mapped[str | None] = mapped_column(Text)
    file_position: Mapped[int | None] = mapped_column(BigInteger)
    relative_version: Mapped[str | None] = mapped_column(String(8))  # BEFORE | AFTER
    in_reply_to: Mapped[str | None] = mapped_column(String(36), index=True)
    author: Mapped[str] = mapped_column(String(64))
    author_arn: Mapped[str] = mapped_column(String(256))
    content: Mapped[str] = mapped_column(Text)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    client_request_token: Mapped[str | None] = mapped_column(String(256), unique=True)
    current_commit: Mapped[str] = mapped_column(String(64), default="")
    # The file's path in `current_commit` (a rename carries the comment to the new name).
    current_path: Mapped[str | None] = mapped_column(Text)
    current_blob: Mapped[str] = mapped_column(String(64), default="")
    current_position: Mapped[int | None] = mapped_column(BigInteger)
    outdated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CommentReaction(Base):
    """One user's reaction to a comment (a new reaction replaces the user's previous one)."""

    __tablename__ = "comment_reactions"

    comment_id: Mapped[str] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    user_arn: Mapped[str] = mapped_column(String(256), primary_key=True)
    emoji: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A web UI sign-in. Only the SHA-256 of the cookie's token is stored: a copy of the
    database lets no one act as a signed-in user."""

    __tablename__ = "web_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Bound to the session: every form carries it, every POST compares it (constant time).
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    source_ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(256), default="")


class CommitStatus(Base):
    """The latest status one context (a pipeline, an external CI) reported on a commit.

    One row per (repository, commit, context): a new report replaces the old one, as
    GitHub's combined status reads only the latest per context; each change is also a
    `commitStatusChanged` outbox event, which is the history.
    """

    __tablename__ = "commit_statuses"
    __table_args__ = (
        Index(
            "ux_commit_statuses_commit_context",
            "repository_id",
            "commit_id",
            "context",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository_id: Mapped[str] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    commit_id: Mapped[str] = mapped_column(String(64))
    context: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(8))  # pending | success | failure | error
    target_url: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(String(140), default="")
    creator: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuthEpoch(Base):
    """One row whose `value` database triggers move on every change to users, groups,
    policies and attachments (migration 0011): a cached principal read at an older
    value is stale."""

    __tablename__ = "auth_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)


class RequiredStatusCheck(Base):
    """A context that must be `success` on a pull request's source commit to merge it."""

    __tablename__ = "required_status_checks"

    repository_id: Mapped[str] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    context: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProtectedBranch(Base):
    """A protected-branch rule: branches whose names match `pattern` (a glob) move only
    as its flags allow (`gitserver/protection`)."""

    __tablename__ = "protected_branches"

    repository_id: Mapped[str] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    pattern: Mapped[str] = mapped_column(String(256), primary_key=True)
    no_force_push: Mapped[bool] = mapped_column(Boolean, default=False)
    no_deletion: Mapped[bool] = mapped_column(Boolean, default=False)
    require_pull_request: Mapped[bool] = mapped_column(Boolean, default=False)
    require_status_checks: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PushRules(Base):
    """A repository's push rules; NULL is the server's default."""

    __tablename__ = "push_rules"

    repository_id: Mapped[str] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    secret_scanning: Mapped[bool | None] = mapped_column(Boolean)
    max_file_size: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AutoMerge(Base):
    """Merge when the required statuses succeed: armed by a reviewer on one source commit."""

    __tablename__ = "pull_request_auto_merges"

    pull_request_id: Mapped[int] = mapped_column(
        ForeignKey("pull_requests.id", ondelete="CASCADE"), primary_key=True
    )
    # FAST_FORWARD_MERGE | SQUASH_MERGE | THREE_WAY_MERGE (CodeCommit's merge options)
    strategy: Mapped[str] = mapped_column(String(32))
    armed_by: Mapped[str] = mapped_column(String(64))  # the user name the merge runs as
    armed_by_arn: Mapped[str] = mapped_column(String(256))
    # The source commit the reviewer saw: only this commit is ever merged.
    source_commit: Mapped[str] = mapped_column(String(64))
    armed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The last refusal when a merge was tried (rules not satisfied, a conflict), for the page.
    last_error: Mapped[str] = mapped_column(Text, default="")
