"""The outbox detail of every pull-request event: one shape, built in one place.

Every pull-request event (`pullRequest*`, `commentOnPullRequest*`) carries the pull
request as it is after the change, so a converter (GitHub, EventBridge, a notification)
never reads the database:

    pullRequestId       "12" (CodeCommit's numeric string)
    title, description
    repositoryName, repositoryId
    sourceReference, destinationReference     full refs ("refs/heads/feature")
    sourceCommit, destinationCommit, mergeBase
    revisionId
    pullRequestStatus   "OPEN" | "CLOSED"
    isMerged            bool
    mergeCommitId, mergeOption, mergedBy      "" until merged (mergedBy an ARN)
    author, authorName  the author's ARN and user name
    callerUserArn       who made this change
    creationDate, lastModifiedDate            ISO 8601 UTC ("2026-12-05T10:00:00.000Z")

and, by event type:

    pullRequestSourceBranchUpdated   beforeCommitId, afterCommitId
    pullRequestStatusChanged         (the new pullRequestStatus above)
    pullRequestMergeStatusUpdated    (isMerged, mergeCommitId, mergeOption, mergedBy above)
    pullRequestEdited                previousTitle, previousDescription (before the edit)
    pullRequestApprovalStateChanged  approvalStatus "APPROVE" | "REVOKE"
    pullRequestApprovalRule{Created,Updated,Deleted}
                                     approvalRuleId, approvalRuleName,
                                     approvalRuleContentSha256
    pullRequestApprovalRuleOverridden  overrideStatus "OVERRIDE" | "REVOKE"
    commentOnPullRequest{Created,Updated}
                                     commentId, inReplyTo ("" if none), content,
                                     beforeCommitId, afterCommitId, and when located
                                     filePath, filePosition, relativeFileVersion;
                                     Updated also previousContent, and deleted (bool)

A comment on compared commits has no pull request; `commentOnCommit{Created,Updated}`
carries (built by `commit_comment_event`):

    repositoryName, repositoryId, callerUserArn
    commentId, inReplyTo ("" if none), content, author (ARN), beforeCommitId ("" if
    none), afterCommitId, creationDate, lastModifiedDate, and when located filePath,
    filePosition, relativeFileVersion; Updated also previousContent and deleted

A reaction (`commentReaction{Created,Updated}`, built by `reaction_event`) carries
repositoryName, repositoryId, callerUserArn, commentId, pullRequestId ("" for a
comment on commits), reactionEmojis, reactionShortcodes, reactionUnicodes (the
caller's reaction, empty lists when they removed it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gitserver.db import PullRequest, Repository
from triggers.events import Event, EventType


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def pull_request_detail(pr: PullRequest, repo: Repository, caller_arn: str) -> dict[str, Any]:
    """The common part of every pull-request event's detail (see the module docstring)."""
    return {
        "pullRequestId": str(pr.id),
        "title": pr.title,
        "description": pr.description,
        "repositoryName": repo.name,
        "repositoryId": repo.id,
        "sourceReference": pr.source_ref,
        "destinationReference": pr.destination_ref,
        "sourceCommit": pr.source_commit,
        "destinationCommit": pr.destination_commit,
        "mergeBase": pr.merge_base,
        "revisionId": pr.revision_id,
        "pullRequestStatus": pr.status,
        "isMerged": pr.is_merged,
        "mergeCommitId": pr.merge_commit_id,
        "mergeOption": pr.merge_option,
        "mergedBy": pr.merged_by,
        "author": pr.author_arn,
        "authorName": pr.author,
        "callerUserArn": caller_arn,
        "creationDate": iso(pr.created_at),
        "lastModifiedDate": iso(pr.updated_at),
    }


def pull_request_event(
    kind: EventType,
    pr: PullRequest,
    repo: Repository,
    actor: str,
    caller_arn: str,
    **extra: Any,
) -> Event:
    """An outbox event for `pr` (as it is now) with the event type's own fields."""
    detail = pull_request_detail(pr, repo, caller_arn)
    detail.update(extra)
    return Event(kind, repo.name, actor, detail, repository_id=repo.id)


def commit_comment_event(
    kind: EventType, repo: Repository, actor: str, caller_arn: str, **fields: Any
) -> Event:
    """An outbox event for a comment on compared commits (see the module docstring)."""
    detail: dict[str, Any] = {
        "repositoryName": repo.name,
        "repositoryId": repo.id,
        "callerUserArn": caller_arn,
    }
    detail.update(fields)
    return Event(kind, repo.name, actor, detail, repository_id=repo.id)


def reaction_event(
    kind: EventType, repo: Repository, actor: str, caller_arn: str, **fields: Any
) -> Event:
    """An outbox event for a reaction (see the module docstring)."""
    return commit_comment_event(kind, repo, actor, caller_arn, **fields)
