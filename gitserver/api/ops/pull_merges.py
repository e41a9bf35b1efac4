"""MergePullRequestByFastForward, BySquash and ByThreeWay: the JSON around
`gitserver.pulls.merging` (the decision and the compare-and-swap live there)."""

from __future__ import annotations

from typing import Any

from gitserver.api.errors import ApiError
from gitserver.api.ops.merges import merge_request
from gitserver.api.ops.pulls import on_pull_request_destination, pull_request_json
from gitserver.api.registry import Call, Operation, Params, Result, on_all_repositories
from gitserver.content.merges import MergeOption
from gitserver.pulls.merging import PullRequestMerges


def service(call: Call) -> PullRequestMerges:
    merges = call.services.merges
    if merges is None:  # a server always has one; a bare ApiServices in a unit test may not
        raise ApiError("InternalFailure", "pull request merges are not configured", 500)
    return merges


def _merge(option: MergeOption) -> Any:
    async def handler(call: Call, params: Params) -> Result:
        if not params.get("repositoryName"):
            raise ApiError("RepositoryNameRequiredException", "A repository name is required")
        pr = await service(call).merge(
            call.principal,
            str(params["pullRequestId"]),
            str(params["repositoryName"]),
            merge_request(params, option),
            source_commit_id=params.get("sourceCommitId"),
        )
        return {"pullRequest": pull_request_json(pr)}

    return handler


def _operation(name: str, option: MergeOption) -> Operation:
    # Authorized on the destination ref, so a branch-protection policy that denies
    # codecommit:MergePullRequestBy* on refs/heads/main blocks these as it blocks pushes.
    return Operation(name, _merge(option), on_all_repositories, on_pull_request_destination)


OPERATIONS = [
    _operation("MergePullRequestByFastForward", MergeOption.FAST_FORWARD),
    _operation("MergePullRequestBySquash", MergeOption.SQUASH),
    _operation("MergePullRequestByThreeWay", MergeOption.THREE_WAY),
]
