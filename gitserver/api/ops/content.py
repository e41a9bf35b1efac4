"""Content operations: files, folders, blobs, commits, differences, file history, and the
commits the API writes (PutFile, DeleteFile, CreateCommit)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from gitserver.api.ops.paging import page
from gitserver.api.registry import Call, Operation, Params, Result, on_branch, on_repository
from gitserver.content.errors import CommitIdsLimitExceeded
from gitserver.content.history import differences, file_history
from gitserver.content.reader import FULL_OID, Reader
from gitserver.content.writer import CommitRequest, PutEntry, Writer
from gitserver.db import Repository
from gitserver.store.errors import CommitNotFound, InvalidCommitId
from gitserver.store.naming import validate_repository_name

T = TypeVar("T")
MAX_COMMIT_IDS = 100
DEFAULT_RESULTS = 100


async def repository_row(call: Call, params: Params) -> Repository:
    return await call.repository(validate_repository_name(params["repositoryName"]))


async def _read(call: Call, repo: Repository, work: Callable[[Reader], T]) -> T:
    def run() -> T:
        with Reader(call.services.store.path(repo.id)) as reader:
            return work(reader)

    return await asyncio.to_thread(run)


async def get_file(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    limit = call.services.max_file_size
    return await _read(
        call,
        repo,
        lambda r: r.get_file(
            r.resolve(params.get("commitSpecifier"), repo.default_branch), params["filePath"], limit
        ),
    )


async def get_folder(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    return await _read(
        call,
        repo,
        lambda r: r.get_folder(
            r.resolve(params.get("commitSpecifier"), repo.default_branch), params["folderPath"]
        ),
    )


async def get_blob(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    limit = call.services.max_file_size
    content = await _read(call, repo, lambda r: r.get_blob(params["blobId"], limit))
    return {"content": content}


async def get_commit(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    commit_id = params["commitId"]
    if not FULL_OID.fullmatch(commit_id):
        raise InvalidCommitId(f"{commit_id!r} is not a full commit ID")

    def work(reader: Reader) -> Result:
        commit = reader.commit(commit_id)
        if commit is None:
            raise CommitNotFound(
                f"Commit {commit_id} does not exist", aws_type="CommitIdDoesNotExistException"
            )
        return {"commit": reader.commit_shape(commit)}

    return await _read(call, repo, work)


async def batch_get_commits(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    ids: list[str] = params["commitIds"]
    if len(ids) > MAX_COMMIT_IDS:
        raise CommitIdsLimitExceeded(f"At most {MAX_COMMIT_IDS} commit IDs per call")

    def work(reader: Reader) -> Result:
        commits, errors = [], []
        for commit_id in ids:
            found = reader.commit(commit_id) if FULL_OID.fullmatch(commit_id) else None
            if found is None:
                code = "CommitIdDoesNotExistException"
                if not FULL_OID.fullmatch(commit_id):
                    code = "InvalidCommitIdException"
                errors.append(
                    {
                        "commitId": commit_id,
                        "errorCode": code,
                        "errorMessage": f"{commit_id}: {code}",
                    }
                )
            else:
                commits.append(reader.commit_shape(found))
        return {"commits": commits, "errors": errors}

    return await _read(call, repo, work)


async def get_differences(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)

    def work(reader: Reader) -> list[dict[str, Any]]:
        after = reader.resolve(params["afterCommitSpecifier"], repo.default_branch)
        before_spec = params.get("beforeCommitSpecifier")
        before = reader.resolve(before_spec, repo.default_branch) if before_spec else None
        return differences(reader, before, after, params.get("beforePath"), params.get("afterPath"))

    found = await _read(call, repo, work)
    size = params.get("MaxResults") or DEFAULT_RESULTS
    chunk, token = page(found, params.get("NextToken"), size, f"diff:{size}")
    result: Result = {"differences": list(chunk)}
    if token:
        result["NextToken"] = token
    return result


async def list_file_commit_history(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    size = params.get("maxResults") or DEFAULT_RESULTS
    start_token = params.get("nextToken")

    def work(reader: Reader) -> list[dict[str, Any]]:
        start = reader.resolve(params.get("commitSpecifier"), repo.default_branch)
        return file_history(reader, start, params["filePath"], limit=10_000)

    versions = await _read(call, repo, work)
    chunk, token = page(versions, start_token, size, f"history:{size}")
    result: Result = {"revisionDag": list(chunk)}
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
