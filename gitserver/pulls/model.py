"""What the pull-request service returns: frozen views, no wire format (the API shapes them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gitserver.db import ApprovalRule, PullRequest, PullRequestEvent

OPEN = "OPEN"
CLOSED = "CLOSED"


def user_arn(account_id: str, name: str) -> str:
    """The IAM ARN of a user of this server (`Principal.arn` for a signed-in user)."""
    return f"arn:aws:iam::{account_id}:user/{name}"


@dataclass(frozen=True, slots=True)
class MergeMetadata:
    is_merged: bool
    merged_by: str = ""
    merge_commit_id: str = ""
    merge_option: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    repository_name: str
    source_reference: str
    destination_reference: str
    source_commit: str
    destination_commit: str
    merge_base: str
    merge: MergeMetadata


@dataclass(frozen=True, slots=True)
class ApprovalRuleView:
    id: str
    name: str
    content: str
    content_sha256: str
    last_modified_user: str
    created_at: datetime
    updated_at: datetime
    template_id: str = ""
    template_name: str = ""

    @classmethod
    def of(cls, row: ApprovalRule) -> ApprovalRuleView:
        return cls(
            row.id,
            row.name,
            row.content,
            row.content_sha256,
            row.last_modified_user,
            row.created_at,
            row.updated_at,
            row.template_id,
            row.template_name,
        )


@dataclass(frozen=True, slots=True)
class PullRequestView:
    id: str
    repository_id: str
    title: str
    description: str
    status: str
    author: str
    author_arn: str
    created_at: datetime
    updated_at: datetime
    client_request_token: str | None
    revision_id: str
    target: Target
    approval_rules: tuple[ApprovalRuleView, ...] = field(default=())

    @classmethod
    def of(
        cls, row: PullRequest, repository_name: str, rules: tuple[ApprovalRuleView, ...] = ()
    ) -> PullRequestView:
        merge = MergeMetadata(row.is_merged, row.merged_by, row.merge_commit_id, row.merge_option)
        target = Target(
            repository_name,
            row.source_ref,
            row.destination_ref,
            row.source_commit,
            row.destination_commit,
            row.merge_base,
            merge,
        )
        return cls(
            str(row.id),
            row.repository_id,
            row.title,
            row.description,
            row.status,
            row.author,
            row.author_arn,
            row.created_at,
            row.updated_at,
            row.client_request_token,
            row.revision_id,
            target,
            rules,
        )


@dataclass(frozen=True, slots=True)
class PullRequestEventView:
    pull_request_id: str
    type: str
    actor_arn: str
    time: datetime
    # The API's `*EventMetadata` member name and its value.
    metadata_key: str
    metadata: dict[str, Any]

    @classmethod
    def of(cls, row: PullRequestEvent) -> PullRequestEventView:
        return cls(
            str(row.pull_request_id),
            row.type,
            row.actor_arn,
            row.time,
            row.metadata_key,
            dict(row.detail),
        )
