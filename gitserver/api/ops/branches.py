"""Branch operations: create, get, list, delete, and the default branch."""

from __future__ import annotations

from gitserver.api.errors import ApiError
from gitserver.api.ops.paging import page
from gitserver.api.registry import Call, Operation, Params, Result, on_branch, on_repository
from gitserver.store.naming import validate_repository_name


async def create_branch(call: Call, params: Params) -> Result:
    await call.services.branches.create(
        params["repositoryName"], params["branchName"], params["commitId"], call.actor
    )
    return {}


async def get_branch(call: Call, params: Params) -> Result:
    name = params.get("branchName")
    if not name:
        raise ApiError("BranchNameRequiredException", "branchName is required")
    commit = await call.services.branches.get(params["repositoryName"], name)
    return {"branch": {"branchName": name, "commitId": commit}}


async def list_branches(call: Call, params: Params) -> Result:
    validate_repository_name(params["repositoryName"])
    names = await call.services.branches.list(params["repositoryName"])
    chunk, token = page(names, params.get("nextToken"), call.services.page_size, "branches")
    result: Result = {"branches": list(chunk)}
    if token:
        result["nextToken"] = token
    return result


async def delete_branch(call: Call, params: Params) -> Result:
    commit = await call.services.branches.delete(
        params["repositoryName"], params["branchName"], call.actor
    )
    if commit is None:
        return {}
    return {"deletedBranch": {"branchName": params["branchName"], "commitId": commit}}


async def update_default_branch(call: Call, params: Params) -> Result:
    await call.services.branches.set_default(params["repositoryName"], params["defaultBranchName"])
    return {}


OPERATIONS = [
    Operation("CreateBranch", create_branch, on_branch()),
    Operation("GetBranch", get_branch, on_repository),
    Operation("ListBranches", list_branches, on_repository),
    Operation("DeleteBranch", delete_branch, on_branch()),
    Operation("UpdateDefaultBranch", update_default_branch, on_branch("defaultBranchName")),
]
