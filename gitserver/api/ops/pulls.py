"""Pull request operations: the CodeCommit JSON around `gitserver.pulls` (no rule lives here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gitserver.access import Target
from gitserver.api.errors import ApiError
from gitserver.api.ops.paging import page
from gitserver.api.registry import (
    ApiServices,
    Call,
    Operation,
    Params,
    Result,
    configured,
    on_all_repositories,
    on_repository,
)
from gitserver.pulls.model import ApprovalRuleView, PullRequestEventView, PullRequestView
from gitserver.pulls.service import PullRequests, TargetSpec
from gitserver.store.repositories import Endpoints

DEFAULT_RESULTS = 100


def service(call: Call) -> PullRequests:
    return configured(call.services.pulls, "pull requests")


def pull_request_json(pr: PullRequestView) -> dict[str, Any]:
    target = pr.target
    merge: dict[str, Any] = {"isMerged": target.merge.is_merged}
    if target.merge.is_merged:
        merge["mergedBy"] = target.merge.merged_by
        if target.merge.merge_commit_id:
            merge["mergeCommitId"] = target.merge.merge_commit_id
        if target.merge.merge_option:
            merge["mergeOption"] = target.merge.merge_option
    result: dict[str, Any] = {
        "pullRequestId": pr.id,
        "title": pr.title,
        "description": pr.description,
        "lastActivityDate": pr.updated_at,
        "creationDate": pr.created_at,
        "pullRequestStatus": pr.status,
        "authorArn": pr.author_arn,
        "pullRequestTargets": [
            {
                "repositoryName": target.repository_name,
                "sourceReference": target.source_reference,
                "destinationReference": target.destination_reference,
                "destinationCommit": target.destination_commit,
                "sourceCommit": target.source_commit,
                "mergeBase": target.merge_base or None,
                "mergeMetadata": merge,
            }
        ],
        "revisionId": pr.revision_id,
        "approvalRules": [approval_rule_json(rule) for rule in pr.approval_rules],
    }
    if pr.client_request_token is not None:
        result["clientRequestToken"] = pr.client_request_token
    return result


def approval_rule_json(rule: ApprovalRuleView) -> dict[str, Any]:
    result: dict[str, Any] = {
        "approvalRuleId": rule.id,
        "approvalRuleName": rule.name,
        "approvalRuleContent": rule.content,
        "ruleContentSha256": rule.content_sha256,
        "lastModifiedDate": rule.updated_at,
        "creationDate": rule.created_at,
        "lastModifiedUser": rule.last_modified_user,
    }
    if rule.template_id:
        result["originApprovalRuleTemplate"] = {
            "approvalRuleTemplateId": rule.template_id,
            "approvalRuleTemplateName": rule.template_name,
        }
    return result


def event_json(event: PullRequestEventView) -> dict[str, Any]:
    result: dict[str, Any] = {
        "pullRequestId": event.pull_request_id,
        "eventDate": event.time,
        "pullRequestEventType": event.type,
        "actorArn": event.actor_arn,
    }
    if event.metadata_key:
        result[event.metadata_key] = event.metadata
    return result


def max_results(params: Params, default: int = DEFAULT_RESULTS, ceiling: int = 100) -> int:
    value = params.get("maxResults")
    if value is None:
        return default
    if not 1 <= value <= ceiling:
        raise ApiError("InvalidMaxResultsException", f"maxResults must be 1-{ceiling}")
    return int(value)


# -- access-check targets --------------------------------------------------------------


async def on_pull_request(services: ApiServices, params: Params) -> Sequence[Target]:
    """The pull request's repository; an unknown or malformed id: every repository."""
    return await _pull_request_target(services, params, with_destination=False)


async def on_pull_request_destination(services: ApiServices, params: Params) -> Sequence[Target]:
    """A merge: the repository, with `codecommit:References` = the destination ref."""
    return await _pull_request_target(services, params, with_destination=True)


async def _pull_request_target(
    services: ApiServices, params: Params, *, with_destination: bool
) -> Sequence[Target]:
    pulls = services.pulls
    found = await pulls.location(str(params.get("pullRequestId", ""))) if pulls else None
    if found is None:
        return on_all_repositories(services.endpoints, params)
    name, destination = found
    references = (destination,) if with_destination else ()
    return [Target(services.endpoints.arn(name), name, references)]


def on_targets(endpoints: Endpoints, params: Params) -> Sequence[Target]:
    names = {str(t.get("repositoryName", "")) for t in params.get("targets") or []}
    if not names or "" in names:
        raise ApiError("RepositoryNameRequiredException", "Each target needs a repositoryName")
    return [Target(endpoints.arn(name), name) for name in sorted(names)]


# -- operations ------------------------------------------------------------------------


async def create_pull_request(call: Call, params: Params) -> Result:
    targets = [
        TargetSpec(t["repositoryName"], t.get("sourceReference", ""), t.get("destinationReference"))
        for t in params["targets"]
    ]
    pr = await service(call).create(
        call.principal,
        title=params["title"],
        description=params.get("description", ""),
        targets=targets,
        client_request_token=params.get("clientRequestToken"),
    )
    return {"pullRequest": pull_request_json(pr)}


async def get_pull_request(call: Call, params: Params) -> Result:
    return {"pullRequest": pull_request_json(await service(call).get(params["pullRequestId"]))}


async def list_pull_requests(call: Call, params: Params) -> Result:
    ids = await service(call).list_ids(
        params["repositoryName"],
        author_arn=params.get("authorArn"),
        status=params.get("pullRequestStatus"),
    )
    chunk, token = page(ids, params.get("nextToken"), max_results(params), "pullRequests")
    result: Result = {"pullRequestIds": list(chunk)}
    if token:
        result["nextToken"] = token
    return result


async def describe_pull_request_events(call: Call, params: Params) -> Result:
    events = await service(call).events(
        params["pullRequestId"],
        event_type=params.get("pullRequestEventType"),
        actor_arn=params.get("actorArn"),
    )
    chunk, token = page(events, params.get("nextToken"), max_results(params), "prEvents")
    result: Result = {"pullRequestEvents": [event_json(e) for e in chunk]}
    if token:
        result["nextToken"] = token
    return result


async def update_pull_request_status(call: Call, params: Params) -> Result:
    pr = await service(call).update_status(
        call.principal, params["pullRequestId"], params["pullRequestStatus"]
    )
    return {"pullRequest": pull_request_json(pr)}


async def update_pull_request_title(call: Call, params: Params) -> Result:
    pr = await service(call).update_title(call.principal, params["pullRequestId"], params["title"])
    return {"pullRequest": pull_request_json(pr)}


async def update_pull_request_description(call: Call, params: Params) -> Result:
    pr = await service(call).update_description(
        call.principal, params["pullRequestId"], params["description"]
    )
    return {"pullRequest": pull_request_json(pr)}


def _on_pr(name: str, handler: Any) -> Operation:
    return Operation(name, handler, on_all_repositories, on_pull_request)


OPERATIONS = [
    Operation("CreatePullRequest", create_pull_request, on_targets),
    _on_pr("GetPullRequest", get_pull_request),
    Operation("ListPullRequests", list_pull_requests, on_repository),
    _on_pr("DescribePullRequestEvents", describe_pull_request_events),
    _on_pr("UpdatePullRequestStatus", update_pull_request_status),
    _on_pr("UpdatePullRequestTitle", update_pull_request_title),
    _on_pr("UpdatePullRequestDescription", update_pull_request_description),
]
