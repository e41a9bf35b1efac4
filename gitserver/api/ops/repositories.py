"""Repository operations: create, read, list, rename, describe, delete."""

from __future__ import annotations

from typing import Any

from gitserver.api.errors import ApiError
from gitserver.api.ops.paging import page
from gitserver.api.registry import (
    Call,
    Operation,
    Params,
    Result,
    on_any,
    on_repositories,
    on_repository,
)
from gitserver.db import Repository
from gitserver.store import repositories as store
from gitserver.store.naming import validate_repository_name

MAX_BATCH = 100


def metadata(call: Call, repo: Repository) -> dict[str, Any]:
    data = call.services.store.metadata(repo)
    data.pop("path", None)
    return data


async def create_repository(call: Call, params: Params) -> Result:
    repo = await store.create_repository(
        call.services.db,
        call.services.store,
        params["repositoryName"],
        params.get("repositoryDescription", ""),
        call.actor,
        params.get("tags"),
    )
    return {"repositoryMetadata": metadata(call, repo)}


async def get_repository(call: Call, params: Params) -> Result:
    repo = await call.repository(validate_repository_name(params["repositoryName"]))
    return {"repositoryMetadata": metadata(call, repo)}


async def batch_get_repositories(call: Call, params: Params) -> Result:
    names: list[str] = params["repositoryNames"]
    if len(names) > MAX_BATCH:
        raise ApiError(
            "MaximumRepositoryNamesExceededException", f"At most {MAX_BATCH} names per call"
        )
    for name in names:
        validate_repository_name(name)
    async with call.services.db.reader() as session:
        found = {name: await store.find_repository(session, name) for name in dict.fromkeys(names)}
    return {
        "repositories": [metadata(call, repo) for repo in found.values() if repo],
        "repositoriesNotFound": [name for name, repo in found.items() if repo is None],
    }


async def list_repositories(call: Call, params: Params) -> Result:
    sort_by = params.get("sortBy", "repositoryName")
    order = params.get("order", "ascending")
    async with call.services.db.reader() as session:
        repos = await store.list_repositories(session)

    def key(repo: Repository) -> Any:
        return (repo.updated_at, repo.name) if sort_by == "lastModifiedDate" else repo.name

    repos.sort(key=key, reverse=order == "descending")
    chunk, token = page(
        repos, params.get("nextToken"), call.services.page_size, f"repos:{sort_by}:{order}"
    )
    result: Result = {
        "repositories": [{"repositoryName": r.name, "repositoryId": r.id} for r in chunk]
    }
    if token:
        result["nextToken"] = token
    return result


async def delete_repository(call: Call, params: Params) -> Result:
    validate_repository_name(params["repositoryName"])
    repo_id = await store.delete_repository(
        call.services.db, call.services.store, params["repositoryName"], call.actor
    )
    return {"repositoryId": repo_id} if repo_id else {}


async def update_repository_name(call: Call, params: Params) -> Result:
    validate_repository_name(params["oldName"])
    await store.rename_repository(call.services.db, params["oldName"], params["newName"])
    return {}


async def update_repository_description(call: Call, params: Params) -> Result:
    validate_repository_name(params["repositoryName"])
    await store.update_description(
        call.services.db, params["repositoryName"], params.get("repositoryDescription", "")
    )
    return {}


def _renamed(endpoints: Any, params: Params) -> Any:
    # Renaming needs the action on both names, as AWS evaluates UpdateRepositoryName.
    return [
        *on_repository(endpoints, {"repositoryName": params["oldName"]}),
        *on_repository(endpoints, {"repositoryName": params["newName"]}),
    ]


OPERATIONS = [
    Operation("CreateRepository", create_repository, on_repository),
    Operation("GetRepository", get_repository, on_repository),
    Operation("BatchGetRepositories", batch_get_repositories, on_repositories),
    Operation("ListRepositories", list_repositories, on_any),
    Operation("DeleteRepository", delete_repository, on_repository),
    Operation("UpdateRepositoryName", update_repository_name, _renamed),
    Operation("UpdateRepositoryDescription", update_repository_description, on_repository),
]
