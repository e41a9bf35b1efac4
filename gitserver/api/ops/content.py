"""Content operations: files, folders, blobs, commits, differences, file history, and the
commits the API writes (PutFile, DeleteFile, CreateCommit)."""

from __future__ import annotations

from typing import Any

from gitserver.api import shapes
from gitserver.api.model import WireList
from gitserver.api.ops.paging import page
from gitserver.api.registry import Call, Operation, Params, Result, on_branch, on_repository
from gitserver.content.writer import CommitRequest, PutEntry, Writer
from gitserver.db import Repository
from gitserver.store.naming import validate_repository_name

DEFAULT_RESULTS = 100


async def repository_row(call: Call, params: Params) -> Repository:
    return await call.repository(validate_repository_name(params["repositoryName"]))


async def get_file(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    found = await call.services.contents.file(
        repo, params.get("commitSpecifier"), params["filePath"]
    )
    return shapes.file_json(found)


async def get_folder(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    folder = await call.services.contents.folder(
        repo, params.get("commitSpecifier"), params["folderPath"]
    )
    return shapes.folder_json(folder)


async def get_blob(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    return {"content": await call.services.contents.blob(repo, params["blobId"])}


async def get_commit(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    commit = await call.services.contents.commit(repo, params["commitId"])
    return {"commit": shapes.commit_json(commit)}


async def batch_get_commits(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    found, missing = await call.services.contents.commits(repo, params["commitIds"])
    return {
        "commits": [shapes.commit_json(c) for c in found],
        "errors": [
            {
                "commitId": e.commit_id,
                "errorCode": e.code,
                "errorMessage": f"{e.commit_id}: {e.code}",
            }
            for e in missing
        ],
    }


async def get_differences(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    found = await call.services.contents.differences(
        repo,
        params["afterCommitSpecifier"],
        params.get("beforeCommitSpecifier"),
        before_path=params.get("beforePath"),
        after_path=params.get("afterPath"),
    )
    size = params.get("MaxResults") or DEFAULT_RESULTS
    chunk, token = page(found, params.get("NextToken"), size, f"diff:{size}")
    result: Result = {"differences": WireList(shapes.difference_json(d) for d in chunk)}
    if token:
        result["NextToken"] = token
    return result


async def list_file_commit_history(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    size = params.get("maxResults") or DEFAULT_RESULTS
    versions = await call.services.contents.file_history(
        repo, params.get("commitSpecifier"), params["filePath"]
    )
    chunk, token = page(versions, params.get("nextToken"), size, f"history:{size}")
    result: Result = {"revisionDag": [shapes.file_version_json(v) for v in chunk]}
    if token:
        result["nextToken"] = token
    return result


def _writer(call: Call) -> Writer:
    services = call.services
    return Writer(services.db, services.git, services.store, services.max_file_size)


def _request(
    call: Call, params: Params, name_key: str, message: str, **entries: Any
) -> CommitRequest:
    """The branch, parent and identity every write takes, plus its file entries."""
    return CommitRequest(
        branch=params["branchName"],
        parent=params.get("parentCommitId"),
        author=params.get(name_key) or call.actor,
        email=params.get("email", ""),
        message=message,
        **entries,
    )


async def put_file(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    path = params["filePath"]
    request = _request(
        call,
        params,
        "name",
        params.get("commitMessage") or f"Added or edited {path.lstrip('/')}",
        puts=(PutEntry(path, content=params["fileContent"], mode=params.get("fileMode")),),
    )
    outcome = await _writer(call).commit(repo, request, call.actor, single_put=True)
    changed = (outcome.added or outcome.updated)[0]
    return {"commitId": outcome.commit_id, "blobId": changed["blobId"], "treeId": outcome.tree_id}


async def delete_file(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    path = params["filePath"]
    request = _request(
        call,
        params,
        "name",
        params.get("commitMessage") or f"Deleted {path.lstrip('/')}",
        deletes=(path,),
        keep_empty_folders=bool(params.get("keepEmptyFolders")),
    )
    outcome = await _writer(call).commit(repo, request, call.actor)
    deleted = outcome.deleted[0]
    return {
        "commitId": outcome.commit_id,
        "blobId": deleted["blobId"],
        "treeId": outcome.tree_id,
        "filePath": deleted["absolutePath"],
    }


async def create_commit(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    puts = tuple(
        PutEntry(
            entry["filePath"],
            content=entry.get("fileContent"),
            mode=entry.get("fileMode"),
            source=(entry.get("sourceFile") or {}).get("filePath"),
            is_move=bool((entry.get("sourceFile") or {}).get("isMove")),
        )
        for entry in params.get("putFiles", [])
    )
    request = _request(
        call,
        params,
        "authorName",
        params.get("commitMessage", ""),
        puts=puts,
        deletes=tuple(entry["filePath"] for entry in params.get("deleteFiles", [])),
        modes=tuple((e["filePath"], e["fileMode"]) for e in params.get("setFileModes", [])),
        keep_empty_folders=bool(params.get("keepEmptyFolders")),
    )
    outcome = await _writer(call).commit(repo, request, call.actor)
    return {
        "commitId": outcome.commit_id,
        "treeId": outcome.tree_id,
        "filesAdded": outcome.added,
        "filesUpdated": outcome.updated,
        "filesDeleted": outcome.deleted,
    }


OPERATIONS = [
    Operation("GetFile", get_file, on_repository),
    Operation("GetFolder", get_folder, on_repository),
    Operation("GetBlob", get_blob, on_repository),
    Operation("GetCommit", get_commit, on_repository),
    Operation("BatchGetCommits", batch_get_commits, on_repository),
    Operation("GetDifferences", get_differences, on_repository),
    Operation("ListFileCommitHistory", list_file_commit_history, on_repository),
    Operation("PutFile", put_file, on_branch()),
    Operation("DeleteFile", delete_file, on_branch()),
    Operation("CreateCommit", create_commit, on_branch()),
]
