"""Merge-conflict operations (GetMergeConflicts, DescribeMergeConflicts,
BatchDescribeMergeConflicts): CodeCommit's JSON around `content.conflicts`."""

from __future__ import annotations

import base64
from typing import Any

from gitserver.api.ops.content import repository_row
from gitserver.api.ops.merges import conflict_options
from gitserver.api.ops.paging import page
from gitserver.api.registry import Call, Operation, Params, Result, on_repository
from gitserver.content.conflicts import (
    ConflictMetadata,
    ConflictQuery,
    Conflicts,
    MergeConflicts,
    Version,
)
from gitserver.content.errors import (
    CommitRequired,
    InvalidMaxConflictFiles,
    InvalidMaxMergeHunks,
    InvalidMergeOption,
    MergeOptionRequired,
    PathRequired,
)
from gitserver.content.hunks import HunkDetail, MergeHunk
from gitserver.content.paths import join, split_path
from gitserver.db import Repository

MERGE_OPTIONS = ("FAST_FORWARD_MERGE", "SQUASH_MERGE", "THREE_WAY_MERGE")
MAX_CONFLICT_FILES = 100
MAX_MERGE_HUNKS = 1000


def _service(call: Call) -> MergeConflicts:
    services = call.services
    return MergeConflicts(services.git, services.store, services.max_file_size)


def _query(params: Params) -> ConflictQuery:
    if not params.get("sourceCommitSpecifier") or not params.get("destinationCommitSpecifier"):
        raise CommitRequired("sourceCommitSpecifier and destinationCommitSpecifier are required")
    option = params.get("mergeOption")
    if not option:
        raise MergeOptionRequired("mergeOption is required")
    if option not in MERGE_OPTIONS:
        raise InvalidMergeOption(f"{option!r} is not one of {', '.join(MERGE_OPTIONS)}")
    # CodeCommit's default detail level for these operations is FILE_LEVEL.
    level, strategy = conflict_options(
        {**params, "conflictDetailLevel": params.get("conflictDetailLevel") or "FILE_LEVEL"}
    )
    return ConflictQuery(option, level, strategy)


def _limit(params: Params, name: str, ceiling: int, error: type[Exception]) -> int:
    value = params.get(name)
    if value is None:
        return ceiling
    if not isinstance(value, int) or value < 1:
        raise error(f"{name} must be a positive number")
    return min(value, ceiling)


async def _find(call: Call, params: Params) -> tuple[Repository, Conflicts]:
    repo = await repository_row(call, params)
    query = _query(params)
    found = await _service(call).find(
        repo, params["sourceCommitSpecifier"], params["destinationCommitSpecifier"], query
    )
    return repo, found


def _commits(found: Conflicts) -> Result:
    result: Result = {
        "destinationCommitId": found.destination,
        "sourceCommitId": found.source,
    }
    if found.base:
        result["baseCommitId"] = found.base
    return result


def _sides(
    base: Version | None,
    destination: Version | None,
    source: Version | None,
    field: str,
) -> dict[str, Any]:
    sides = {"base": base, "destination": destination, "source": source}
    found = {name: getattr(v, field) for name, v in sides.items() if v is not None}
    return {name: value for name, value in found.items() if value is not None}


def _metadata(found: ConflictMetadata) -> Result:
    versions = (found.base, found.destination, found.source)
    operations = {"source": found.source_operation, "destination": found.destination_operation}
    return {
        "filePath": found.path,
        "fileSizes": _sides(*versions, "size"),
        "fileModes": _sides(*versions, "mode"),
        "objectTypes": _sides(*versions, "object_type"),
        "numberOfConflicts": found.number_of_conflicts,
        "isBinaryFile": _sides(*versions, "binary"),
        "contentConflict": found.content_conflict,
        "fileModeConflict": found.file_mode_conflict,
        "objectTypeConflict": found.object_type_conflict,
        "mergeOperations": {k: v for k, v in operations.items() if v is not None},
    }


def _detail(detail: HunkDetail) -> Result:
    return {
        "startLine": detail.start_line,
        "endLine": detail.end_line,
        # The model's HunkContent is a string holding base64 (its documentation says so).
        "hunkContent": base64.b64encode(detail.content).decode(),
    }


def _hunk(hunk: MergeHunk) -> Result:
    return {
        "isConflict": hunk.is_conflict,
        "source": _detail(hunk.source),
        "destination": _detail(hunk.destination),
        "base": _detail(hunk.base),
    }


def _scope(params: Params, operation: str) -> str:
    # A token is good for the same question only.
    parts = (
        operation,
        params.get("repositoryName"),
        params.get("sourceCommitSpecifier"),
        params.get("destinationCommitSpecifier"),
        params.get("filePath"),
    )
    return "|".join(str(p) for p in parts)


async def get_merge_conflicts(call: Call, params: Params) -> Result:
    size = _limit(params, "maxConflictFiles", MAX_CONFLICT_FILES, InvalidMaxConflictFiles)
    repo, found = await _find(call, params)
    paths, token = page(
        found.paths, params.get("nextToken"), size, _scope(params, "GetMergeConflicts")
    )
    described = await _service(call).metadata(repo, found, tuple(paths))
    result: Result = {
        "mergeable": found.mergeable,
        **_commits(found),
        "conflictMetadataList": [_metadata(m) for m in described],
    }
    if token:
        result["nextToken"] = token
    return result


async def describe_merge_conflicts(call: Call, params: Params) -> Result:
    size = _limit(params, "maxMergeHunks", MAX_MERGE_HUNKS, InvalidMaxMergeHunks)
    raw = params.get("filePath")
    if not raw:
        raise PathRequired("filePath is required")
    name = join(split_path(raw))
    repo, found = await _find(call, params)
    [(metadata, hunks)] = await _service(call).hunks(repo, found, (name,))
    chunk, token = page(
        hunks, params.get("nextToken"), size, _scope(params, "DescribeMergeConflicts")
    )
    result: Result = {
        "conflictMetadata": _metadata(metadata),
        "mergeHunks": [_hunk(h) for h in chunk],
        **_commits(found),
    }
    if token:
        result["nextToken"] = token
    return result


async def batch_describe_merge_conflicts(call: Call, params: Params) -> Result:
    files = _limit(params, "maxConflictFiles", MAX_CONFLICT_FILES, InvalidMaxConflictFiles)
    hunks = _limit(params, "maxMergeHunks", MAX_MERGE_HUNKS, InvalidMaxMergeHunks)
    repo, found = await _find(call, params)
    wanted = params.get("filePaths") or []
    errors: list[Result] = []
    paths: list[str] = list(found.paths)
    if wanted:
        names = [join(split_path(p)) for p in wanted]
        paths = [p for p in found.paths if p in names]
        errors = [
            {
                "filePath": raw,
                "exceptionName": "FileDoesNotExistException",
                "message": f"{raw} is not a conflicted file in this merge",
            }
            for raw, name in zip(wanted, names, strict=True)
            if name not in found.stages
        ]
    chunk, token = page(
        paths, params.get("nextToken"), files, _scope(params, "BatchDescribeMergeConflicts")
    )
    described = await _service(call).hunks(repo, found, tuple(chunk))
    result: Result = {
        "conflicts": [
            {
                "conflictMetadata": _metadata(m),
                "mergeHunks": [_hunk(h) for h in found_hunks[:hunks]],
            }
            for m, found_hunks in described
        ],
        "errors": errors,
        **_commits(found),
    }
    if token:
        result["nextToken"] = token
    return result


OPERATIONS = [
    Operation("GetMergeConflicts", get_merge_conflicts, on_repository),
    Operation("DescribeMergeConflicts", describe_merge_conflicts, on_repository),
    Operation("BatchDescribeMergeConflicts", batch_describe_merge_conflicts, on_repository),
]
