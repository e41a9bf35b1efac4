"""`github` for pull requests: GitHub's `pull_request`, `pull_request_review`,
`issue_comment` and `pull_request_review_comment` payloads, from the detail contract of
`gitserver/pulls/details.py` (the pull request as it is after the change), so CI systems
that build GitHub pull requests work unchanged.

What has no GitHub counterpart (approval rules, overrides, reactions, comments on
commits outside a pull request) is not sent in this format.
"""

from __future__ import annotations

from typing import Any

from gitserver.weburls import comment_anchor, pull_request_page
from triggers.events import Event, EventType
from triggers.formats.context import Payload, PayloadContext, RepositoryInfo
from triggers.formats.github import MAX_COMMITS, OWNER, numeric_id, repository, user

# Every user of this server is an IAM identity of its one account: a member, as GitHub
# says of an organisation's people. What they may do is decided by policies, not by this.
ASSOCIATION = "MEMBER"
_NO_REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")


def github_time(stamp: str) -> str:
    """The detail's `2026-12-05T10:00:00.000Z` as GitHub writes it: `2026-12-05T10:00:00Z`."""
    return stamp[:19] + "Z" if len(stamp) >= 19 else stamp


def user_name(arn: str) -> str:
    """`arn:aws:iam::000000000000:user/alice` -> `alice` (a plain name stays as it is)."""
    return arn.rsplit("/", 1)[-1]


def branch(ref: str) -> str:
    return ref.removeprefix("refs/heads/")


class _Links:
    """The addresses of one pull request: the API's (GitHub's layout under `/api/v3`)
    and the web UI's page."""

    def __init__(self, context: PayloadContext, repo: RepositoryInfo, number: int) -> None:
        self.api = f"{context.base_url}/api/v3/repos/{OWNER}/{repo.name}"
        self.pull = f"{self.api}/pulls/{number}"
        self.issue = f"{self.api}/issues/{number}"
        self.html = pull_request_page(context.base_url, repo.name, str(number))


def _side(
    detail: dict[str, Any], context: PayloadContext, repo: RepositoryInfo, which: str
) -> dict[str, Any]:
    ref = detail[f"{which}Reference"]
    return {
        "label": f"{OWNER}:{branch(ref)}",
        "ref": branch(ref),
        "sha": detail[f"{which}Commit"],
        "user": user(OWNER, context.base_url, "Organization"),
        "repo": repository(repo, context.base_url),
    }


async def pull_request_object(
    event: Event, context: PayloadContext, repo: RepositoryInfo
) -> dict[str, Any]:
    """GitHub's `pull_request` object for the pull request in `event`'s detail."""
    detail = event.detail
    number = int(detail["pullRequestId"])
    links = _Links(context, repo, number)
    closed = detail["pullRequestStatus"] == "CLOSED"
    merged = bool(detail["isMerged"])
    changed = detail["lastModifiedDate"]
    # The commits GitHub counts are the source's since the merge base.
    commits = await context.commits(
        repo.id,
        detail["sourceReference"],
        detail.get("mergeBase") or detail["destinationCommit"],
        detail["sourceCommit"],
        MAX_COMMITS,
    )
    files = {path for c in commits for path in (*c.added, *c.removed, *c.modified)}
    merged_by = detail.get("mergedBy") or ""
    return {
        "url": links.pull,
        "id": numeric_id(f"pull:{repo.id}:{number}"),
        "node_id": f"PR_{numeric_id(f'pull:{repo.id}:{number}'):x}",
        "html_url": links.html,
        "diff_url": f"{links.html}.diff",
        "patch_url": f"{links.html}.patch",
        "issue_url": links.issue,
        "number": number,
        "state": "closed" if closed else "open",
        "locked": False,
        "title": detail["title"],
        "user": user(detail["authorName"], context.base_url),
        "body": detail["description"] or None,
        "created_at": github_time(detail["creationDate"]),
        "updated_at": github_time(changed),
        "closed_at": github_time(changed) if closed else None,
        "merged_at": github_time(changed) if merged else None,
        "merge_commit_sha": detail.get("mergeCommitId") or None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": [],
        "milestone": None,
        "draft": False,
        "commits_url": f"{links.pull}/commits",
        "review_comments_url": f"{links.pull}/comments",
        "review_comment_url": f"{links.api}/pulls/comments{{/number}}",
        "comments_url": f"{links.issue}/comments",
        "statuses_url": f"{links.api}/statuses/{detail['sourceCommit']}",
        "head": _side(detail, context, repo, "source"),
        "base": _side(detail, context, repo, "destination"),
        "_links": {
            "self": {"href": links.pull},
            "html": {"href": links.html},
            "issue": {"href": links.issue},
            "comments": {"href": f"{links.issue}/comments"},
            "review_comments": {"href": f"{links.pull}/comments"},
            "review_comment": {"href": f"{links.api}/pulls/comments{{/number}}"},
            "commits": {"href": f"{links.pull}/commits"},
            "statuses": {"href": f"{links.api}/statuses/{detail['sourceCommit']}"},
        },
        "author_association": ASSOCIATION,
        "auto_merge": None,
        "active_lock_reason": None,
        "merged": merged,
        # Mergeability is computed on request (GetMergeConflicts), not for each event.
        "mergeable": None,
        "rebaseable": None,
        "mergeable_state": "unknown",
        "merged_by": user(user_name(merged_by), context.base_url) if merged_by else None,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": len(commits),
        # Line counts would need a diff per event; files touched come with the commits.
        "additions": 0,
        "deletions": 0,
        "changed_files": len(files),
    }


def _envelope(
    action: str, event: Event, context: PayloadContext, repo: RepositoryInfo
) -> dict[str, Any]:
    return {
        "action": action,
        "repository": repository(repo, context.base_url),
        "sender": user(event.actor, context.base_url),
    }


async def _pull_request(
    action: str, event: Event, context: PayloadContext, repo: RepositoryInfo
) -> Payload:
    detail = event.detail
    body = _envelope(action, event, context, repo)
    body["number"] = int(detail["pullRequestId"])
    body["pull_request"] = await pull_request_object(event, context, repo)
    if action == "synchronize":
        body["before"] = detail.get("beforeCommitId", "")
        body["after"] = detail.get("afterCommitId", detail["sourceCommit"])
    if action == "edited":
        changes: dict[str, Any] = {}
        if detail.get("previousTitle", detail["title"]) != detail["title"]:
            changes["title"] = {"from": detail["previousTitle"]}
        if detail.get("previousDescription", detail["description"]) != detail["description"]:
            changes["body"] = {"from": detail["previousDescription"]}
        body["changes"] = changes
    return Payload(body, "pull_request")


def _status_action(detail: dict[str, Any]) -> str:
    return "closed" if detail["pullRequestStatus"] == "CLOSED" else "reopened"


async def _review(event: Event, context: PayloadContext, repo: RepositoryInfo) -> Payload:
    detail = event.detail
    approved = detail.get("approvalStatus") == "APPROVE"
    links = _Links(context, repo, int(detail["pullRequestId"]))
    # One review per approver and revision: approving again is the same review.
    review_id = numeric_id(
        f"review:{repo.id}:{detail['pullRequestId']}:{detail['revisionId']}:{event.actor}"
    )
    body = _envelope("submitted" if approved else "dismissed", event, context, repo)
    body["review"] = {
        "id": review_id,
        "node_id": f"PRR_{review_id:x}",
        "user": user(event.actor, context.base_url),
        "body": None,
        "commit_id": detail["sourceCommit"],
        "submitted_at": github_time(detail["lastModifiedDate"]),
        "state": "approved" if approved else "dismissed",
        "html_url": f"{links.html}#review-{review_id}",
        "pull_request_url": links.pull,
        "author_association": ASSOCIATION,
        "_links": {"html": {"href": f"{links.html}#review-{review_id}"}},
    }
    body["review"]["_links"]["pull_request"] = {"href": links.pull}
    pull = await pull_request_object(event, context, repo)
    body["pull_request"] = {k: v for k, v in pull.items() if k not in _NOT_SIMPLE}
    return Payload(body, "pull_request_review")


# What GitHub's "simple" pull request (in review payloads) leaves out.
_NOT_SIMPLE = frozenset(
    {
        "merged",
        "mergeable",
        "rebaseable",
        "mergeable_state",
        "merged_by",
        "comments",
        "review_comments",
        "maintainer_can_modify",
        "commits",
        "additions",
        "deletions",
        "changed_files",
    }
)


def _reactions(url: str) -> dict[str, Any]:
    return {"url": f"{url}/reactions", "total_count": 0, **dict.fromkeys(_NO_REACTIONS, 0)}


async def _comment(event: Event, context: PayloadContext, repo: RepositoryInfo) -> Payload:
    detail = event.detail
    number = int(detail["pullRequestId"])
    links = _Links(context, repo, number)
    comment_id = numeric_id(f"comment:{detail['commentId']}")
    html = f"{links.html}#{comment_anchor(detail['commentId'])}"
    updated = event.type is EventType.COMMENT_ON_PULL_REQUEST_UPDATED
    action = "created"
    if updated:
        # DeleteCommentContent is an update that empties the comment: GitHub's `deleted`.
        action = "deleted" if detail.get("deleted") else "edited"
    stamp = event.time.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = _envelope(action, event, context, repo)
    if action == "edited":
        previous = detail.get("previousContent")
        body["changes"] = {"body": {"from": previous}} if isinstance(previous, str) else {}
    common = {
        "id": comment_id,
        "user": user(event.actor, context.base_url),
        "body": detail["content"],
        "created_at": stamp,
        "updated_at": stamp,
        "html_url": html,
        "author_association": ASSOCIATION,
    }
    if not detail.get("filePath"):
        url = f"{links.api}/issues/comments/{comment_id}"
        body["comment"] = {
            **common,
            "url": url,
            "issue_url": links.issue,
            "node_id": f"IC_{comment_id:x}",
            "performed_via_github_app": None,
            "reactions": _reactions(url),
        }
        body["issue"] = await _issue(event, context, repo, links)
        return Payload(body, "issue_comment")
    url = f"{links.api}/pulls/comments/{comment_id}"
    position = int(detail.get("filePosition") or 1)
    after = detail.get("relativeFileVersion", "AFTER") != "BEFORE"
    commit = detail.get("afterCommitId") if after else detail.get("beforeCommitId")
    comment: dict[str, Any] = {
        **common,
        "url": url,
        "node_id": f"PRRC_{comment_id:x}",
        "pull_request_review_id": comment_id,
        # The hunk is computed when the comment is shown, not for each event.
        "diff_hunk": "",
        "path": detail["filePath"],
        "position": position,
        "original_position": position,
        "commit_id": commit or detail["sourceCommit"],
        "original_commit_id": commit or detail["sourceCommit"],
        "pull_request_url": links.pull,
        "_links": {
            "self": {"href": url},
            "html": {"href": html},
            "pull_request": {"href": links.pull},
        },
        "start_line": None,
        "original_start_line": None,
        "start_side": None,
        "line": position,
        "original_line": position,
        "side": "RIGHT" if after else "LEFT",
        "subject_type": "line",
        "reactions": _reactions(url),
    }
    if detail.get("inReplyTo"):
        comment["in_reply_to_id"] = numeric_id(f"comment:{detail['inReplyTo']}")
    body["comment"] = comment
    pull = await pull_request_object(event, context, repo)
    body["pull_request"] = {k: v for k, v in pull.items() if k not in _NOT_SIMPLE}
    return Payload(body, "pull_request_review_comment")


async def _issue(
    event: Event, context: PayloadContext, repo: RepositoryInfo, links: _Links
) -> dict[str, Any]:
    """The pull request as GitHub's issue_comment shows it: an issue with `pull_request`."""
    pull = await pull_request_object(event, context, repo)
    return {
        "url": links.issue,
        "repository_url": links.api,
        "labels_url": f"{links.issue}/labels{{/name}}",
        "comments_url": f"{links.issue}/comments",
        "events_url": f"{links.issue}/events",
        "html_url": links.html,
        "id": pull["id"],
        "node_id": pull["node_id"],
        "number": pull["number"],
        "title": pull["title"],
        "user": pull["user"],
        "labels": [],
        "state": pull["state"],
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": 0,
        "created_at": pull["created_at"],
        "updated_at": pull["updated_at"],
        "closed_at": pull["closed_at"],
        "author_association": ASSOCIATION,
        "active_lock_reason": None,
        "body": pull["body"],
        "reactions": _reactions(links.issue),
        "pull_request": {
            "url": links.pull,
            "html_url": links.html,
            "diff_url": pull["diff_url"],
            "patch_url": pull["patch_url"],
            "merged_at": pull["merged_at"],
        },
    }


async def pull_request_payload(event: Event, context: PayloadContext) -> Payload | None:
    """The GitHub payload of a pull-request event, or None (no counterpart, or the
    repository is gone)."""
    repo = context.repository
    if repo is None or not event.detail.get("pullRequestId"):
        return None
    detail = event.detail
    match event.type:
        case EventType.PULL_REQUEST_CREATED:
            return await _pull_request("opened", event, context, repo)
        case EventType.PULL_REQUEST_SOURCE_BRANCH_UPDATED:
            return await _pull_request("synchronize", event, context, repo)
        case EventType.PULL_REQUEST_STATUS_CHANGED:
            return await _pull_request(_status_action(detail), event, context, repo)
        case EventType.PULL_REQUEST_MERGE_STATUS_UPDATED:
            return await _pull_request("closed", event, context, repo)
        case EventType.PULL_REQUEST_EDITED:
            return await _pull_request("edited", event, context, repo)
        case EventType.PULL_REQUEST_APPROVAL_STATE_CHANGED:
            return await _review(event, context, repo)
        case EventType.COMMENT_ON_PULL_REQUEST_CREATED | EventType.COMMENT_ON_PULL_REQUEST_UPDATED:
            return await _comment(event, context, repo)
    return None
