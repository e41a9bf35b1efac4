"""`eventbridge`: each event in AWS's EventBridge envelope (reference §6.2), so receivers
written for `aws.codecommit` EventBridge rules work unchanged.

Pull-request and comment events get the detail AWS documents for `CodeCommit Pull
Request State Change`, `CodeCommit Comment on Pull Request` and `CodeCommit Comment on
Commit` (Java-style dates, `"True"`/`"False"` and `"Open"`/`"Closed"` strings, a
`notificationBody` sentence), converted from the contract of `gitserver/pulls/details.py`.
Pipeline state changes go out as CodePipeline's own events (`source: aws.codepipeline`,
`triggers/formats/codepipeline_events.py`). A title or description edit, a commit status
and merge when green have no AWS event and are not sent in this format.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gitserver.weburls import commit_page, pull_request_page
from triggers.events import Event, EventType
from triggers.formats.codepipeline_events import SOURCE as PIPELINE_SOURCE
from triggers.formats.codepipeline_events import pipeline_arn, pipeline_event
from triggers.formats.context import Payload, PayloadContext

_REFERENCE_EVENTS = {
    EventType.REFERENCE_CREATED,
    EventType.REFERENCE_UPDATED,
    EventType.REFERENCE_DELETED,
    EventType.UNREFERENCED_MERGE_COMMIT_CREATED,
}
PULL_REQUEST_STATE_CHANGE = "CodeCommit Pull Request State Change"
COMMENT_ON_PULL_REQUEST = "CodeCommit Comment on Pull Request"
COMMENT_ON_COMMIT = "CodeCommit Comment on Commit"
# The notificationBody's "Event:" word for each pull-request event.
_PULL_REQUEST_EVENTS = {
    EventType.PULL_REQUEST_CREATED: "Created",
    EventType.PULL_REQUEST_SOURCE_BRANCH_UPDATED: "Updated",
    EventType.PULL_REQUEST_STATUS_CHANGED: "Status changed",
    EventType.PULL_REQUEST_MERGE_STATUS_UPDATED: "Merged",
    EventType.PULL_REQUEST_APPROVAL_STATE_CHANGED: "Approval state changed",
    EventType.PULL_REQUEST_APPROVAL_RULE_CREATED: "Approval rule created",
    EventType.PULL_REQUEST_APPROVAL_RULE_UPDATED: "Approval rule updated",
    EventType.PULL_REQUEST_APPROVAL_RULE_DELETED: "Approval rule deleted",
    EventType.PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN: "Approval rule overridden",
}
# What each pull-request event adds to the common detail, when the contract has it.
_EXTRA_FIELDS = {
    EventType.PULL_REQUEST_MERGE_STATUS_UPDATED: ("mergeOption",),
    EventType.PULL_REQUEST_APPROVAL_STATE_CHANGED: ("approvalStatus",),
    EventType.PULL_REQUEST_APPROVAL_RULE_CREATED: (
        "approvalRuleContentSha256",
        "approvalRuleId",
        "approvalRuleName",
    ),
    EventType.PULL_REQUEST_APPROVAL_RULE_UPDATED: (
        "approvalRuleContentSha256",
        "approvalRuleId",
        "approvalRuleName",
    ),
    EventType.PULL_REQUEST_APPROVAL_RULE_DELETED: (
        "approvalRuleContentSha256",
        "approvalRuleId",
        "approvalRuleName",
    ),
    EventType.PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN: ("overrideStatus",),
}
# Ours alone, with no `aws.codecommit` event to wear: an edit, commit statuses (no AWS
# service has them), merge when green.
_NO_AWS_EVENT = {
    EventType.PULL_REQUEST_EDITED,
    EventType.COMMIT_STATUS_CHANGED,
    EventType.PULL_REQUEST_AUTO_MERGE_ENABLED,
    EventType.PULL_REQUEST_AUTO_MERGE_DISABLED,
}
_COMMENT_EVENTS = {
    EventType.COMMENT_ON_PULL_REQUEST_CREATED: COMMENT_ON_PULL_REQUEST,
    EventType.COMMENT_ON_PULL_REQUEST_UPDATED: COMMENT_ON_PULL_REQUEST,
    EventType.COMMENT_ON_COMMIT_CREATED: COMMENT_ON_COMMIT,
    EventType.COMMENT_ON_COMMIT_UPDATED: COMMENT_ON_COMMIT,
}


def java_date(stamp: str) -> str:
    """The contract's `2026-12-05T10:00:00.000Z` as AWS writes these dates:
    `Sat Dec 05 10:00:00 UTC 2026`."""
    moment = datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return moment.strftime("%a %b %d %H:%M:%S UTC %Y")


def pull_request_detail(event: Event, context: PayloadContext) -> dict[str, Any]:
    """`CodeCommit Pull Request State Change`'s detail."""
    d = event.detail
    repository = d["repositoryName"]
    page = pull_request_page(context.base_url, repository, d["pullRequestId"])
    detail: dict[str, Any] = {
        "author": d["author"],
        "callerUserArn": d["callerUserArn"],
        "creationDate": java_date(d["creationDate"]),
        "description": d["description"],
        "destinationCommit": d["destinationCommit"],
        "destinationReference": d["destinationReference"],
        "event": str(event.type),
        "isMerged": "True" if d["isMerged"] else "False",
        "lastModifiedDate": java_date(d["lastModifiedDate"]),
        "notificationBody": (
            "A pull request event occurred in the following repository: "
            f"{repository}. User: {d['callerUserArn']}. "
            f"Event: {_PULL_REQUEST_EVENTS[event.type]}. "
            f"Pull request name: {d['pullRequestId']}. "
            f"Additional information: the pull request {d['pullRequestId']} is titled "
            f"{d['title']!r}. For more information, go to {page}"
        ),
        "pullRequestId": d["pullRequestId"],
        "pullRequestStatus": "Closed" if d["pullRequestStatus"] == "CLOSED" else "Open",
        "repositoryNames": [repository],
        "revisionId": d["revisionId"],
        "sourceCommit": d["sourceCommit"],
        "sourceReference": d["sourceReference"],
        "title": d["title"],
    }
    for key in _EXTRA_FIELDS.get(event.type, ()):
        if key in d:
            detail[key] = d[key]
    return dict(sorted(detail.items()))


def comment_detail(event: Event, context: PayloadContext) -> dict[str, Any]:
    """`CodeCommit Comment on Pull Request` / `on Commit`'s detail."""
    d = event.detail
    repository = d.get("repositoryName") or event.repository or ""
    on_pull_request = bool(d.get("pullRequestId"))
    if on_pull_request:
        where = f"the following Pull Request: {d['pullRequestId']}"
        page = pull_request_page(context.base_url, repository, d["pullRequestId"])
    else:
        where = f"the following commit: {d.get('afterCommitId', '')}"
        page = commit_page(context.base_url, repository, d.get("afterCommitId", ""))
    detail: dict[str, Any] = {
        "afterCommitId": d.get("afterCommitId", ""),
        "beforeCommitId": d.get("beforeCommitId", ""),
        "callerUserArn": d.get("callerUserArn", ""),
        "commentId": d["commentId"],
        "event": str(event.type),
        "notificationBody": (
            f"A comment event occurred in the following repository: {repository}. "
            f"The user: {d.get('callerUserArn', '')} made a comment or replied to a "
            f"comment. The comment was made on {where}. For more information, go to {page}"
        ),
        "repositoryId": d.get("repositoryId") or event.repository_id or "",
        "repositoryName": repository,
    }
    if d.get("inReplyTo"):
        detail["inReplyTo"] = d["inReplyTo"]
    if on_pull_request:
        detail["pullRequestId"] = d["pullRequestId"]
    return dict(sorted(detail.items()))


def _shaped(event: Event, context: PayloadContext) -> tuple[str, dict[str, Any]] | None:
    """(detail-type, detail), or None: no EventBridge event says this."""
    if event.type in _PULL_REQUEST_EVENTS:
        return PULL_REQUEST_STATE_CHANGE, pull_request_detail(event, context)
    if event.type in _COMMENT_EVENTS:
        return _COMMENT_EVENTS[event.type], comment_detail(event, context)
    if event.type in _NO_AWS_EVENT:
        return None
    detail: dict[str, Any] = {"event": str(event.type), **event.detail}
    detail.setdefault("repositoryName", event.repository)
    if event.repository_id:
        detail.setdefault("repositoryId", event.repository_id)
    detail.setdefault("callerUserArn", f"arn:aws:iam::{context.account_id}:user/{event.actor}")
    if event.type in _REFERENCE_EVENTS:
        return "CodeCommit Repository State Change", detail
    if event.type in (EventType.COMMENT_REACTION_CREATED, EventType.COMMENT_REACTION_UPDATED):
        return "CodeCommit Comment Reaction Change", detail
    return "CodeCommit Repository State Change", detail


async def eventbridge(event: Event, context: PayloadContext) -> Payload | None:
    source = "aws.codecommit"
    arn = context.repository.arn if context.repository else None
    shaped = pipeline_event(event, context)
    if shaped is not None:
        source, arn = PIPELINE_SOURCE, pipeline_arn(context, shaped[1]["pipeline"])
    else:
        shaped = _shaped(event, context)
    if shaped is None:
        return None
    detail_type, detail = shaped
    body = {
        "version": "0",
        "id": event.id,
        "detail-type": detail_type,
        "source": source,
        "account": context.account_id,
        "time": event.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": context.region,
        "resources": [arn] if arn else [],
        "detail": detail,
    }
    return Payload(body, str(event.type))
