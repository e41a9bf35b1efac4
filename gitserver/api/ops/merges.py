"""Merge operations between commits and branches: the CodeCommit JSON around
`content.branchmerges` and `content.merges` (the rules live there)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gitserver.access import Target
from gitserver.api.ops.content import repository_row
from gitserver.api.registry import (
    Call,
    Handler,
    Operation,
    Params,
    Result,
    on_repository,
    repository,
)
from gitserver.content.branchmerges import BranchMerges
from gitserver.content.errors import (
    CommitRequired,
    FileModeRequired,
    InvalidConflictDetailLevel,
    InvalidConflictResolution,
    InvalidConflictResolutionStrategy,
    InvalidFileMode,
    InvalidMergeOption,
    InvalidReplacementType,
    MergeOptionRequired,
    PathRequired,
    ReplacementTypeRequired,
)
from gitserver.content.merges import (
    ConflictResolution,
    MergeOption,
    MergeRequest,
    MergeResult,
    ReplaceContent,
)
from gitserver.content.writer import MODES, Limits
from gitserver.store.repositories import Endpoints

LEVELS = ("FILE_LEVEL", "LINE_LEVEL")
STRATEGIES = ("NONE", "ACCEPT_SOURCE", "ACCEPT_DESTINATION", "AUTOMERGE")
REPLACEMENT_TYPES = ("KEEP_BASE", "KEEP_SOURCE", "KEEP_DESTINATION", "USE_NEW_CONTENT")


def conflict_options(params: dict[str, Any]) -> tuple[str, str]:
    """`conflictDetailLevel` and `conflictResolutionStrategy`, with their defaults.

    Raises:
        InvalidConflictDetailLevel, InvalidConflictResolutionStrategy.
    """
    level = params.get("conflictDetailLevel") or "LINE_LEVEL"
    if level not in LEVELS:
        raise InvalidConflictDetailLevel(f"{level!r} is not FILE_LEVEL or LINE_LEVEL")
    strategy = params.get("conflictResolutionStrategy") or "NONE"
    if strategy not in STRATEGIES:
        raise InvalidConflictResolutionStrategy(
            f"{strategy!r} is not one of {', '.join(STRATEGIES)}"
        )
    return level, strategy


def merge_request(params: dict[str, Any], option: MergeOption) -> MergeRequest:
    """The request fields every squash and three-way merge shares (MergeBranchesBy*,
    MergePullRequestBy*, CreateUnreferencedMergeCommit).

    Raises:
        InvalidConflictDetailLevel, InvalidConflictResolutionStrategy,
        InvalidConflictResolution, ReplacementTypeRequired, InvalidReplacementType,
        PathRequired, FileModeRequired, InvalidFileMode.
    """
    level, strategy = conflict_options(params)
    raw = params.get("conflictResolution")
    return MergeRequest(
        option,
        strategy=strategy,
        level=level,
        resolution=_resolution(raw) if raw is not None else None,
        message=params.get("commitMessage") or None,
        author_name=params.get("authorName") or None,
        email=params.get("email") or None,
        keep_empty_folders=bool(params.get("keepEmptyFolders")),
    )


def _resolution(raw: Any) -> ConflictResolution:
    if not isinstance(raw, dict):
        raise InvalidConflictResolution("conflictResolution must be an object")
    replaces = []
    for entry in _entries(raw, "replaceContents"):
        kind = entry.get("replacementType")
        if not kind:
            raise ReplacementTypeRequired("replacementType is required")
        if kind not in REPLACEMENT_TYPES:
            raise InvalidReplacementType(f"{kind!r} is not one of {', '.join(REPLACEMENT_TYPES)}")
        content = entry.get("content")
        if content is not None and not isinstance(content, bytes):
            raise InvalidConflictResolution("content must be base64 data")
        replaces.append(
            ReplaceContent(_path(entry), kind, content, _mode(entry.get("fileMode"), False))
        )
    deletes = tuple(_path(entry) for entry in _entries(raw, "deleteFiles"))
    modes = []
    for entry in _entries(raw, "setFileModes"):
        mode = _mode(entry.get("fileMode"), True)
        assert mode is not None
        modes.append((_path(entry), mode))
    return ConflictResolution(tuple(replaces), deletes, tuple(modes))


def _entries(raw: dict[str, Any], member: str) -> list[dict[str, Any]]:
    entries = raw.get(member) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InvalidConflictResolution(f"{member} must be a list of objects")
    return entries


def _path(entry: dict[str, Any]) -> str:
    path = entry.get("filePath")
    if not path or not isinstance(path, str):
        raise PathRequired("filePath is required")
    return path


def _mode(mode: Any, required: bool) -> str | None:
    if mode is None:
        if required:
            raise FileModeRequired("fileMode is required")
        return None
    if mode not in MODES:
        raise InvalidFileMode(f"{mode!r} is not a file mode: use NORMAL, EXECUTABLE or SYMLINK")
    return str(mode)


def _service(call: Call) -> BranchMerges:
    services = call.services
    limits = Limits.scaled(services.max_file_size)
    return BranchMerges(services.db, services.git, services.store, limits)


def _specifiers(params: Params) -> tuple[str, str]:
    source = params.get("sourceCommitSpecifier")
    destination = params.get("destinationCommitSpecifier")
    if not source or not destination:
        raise CommitRequired("sourceCommitSpecifier and destinationCommitSpecifier are required")
    return source, destination


def _result(result: MergeResult) -> Result:
    return {"commitId": result.commit_id, "treeId": result.tree_id}


def on_target_branch(endpoints: Endpoints, params: Params) -> Sequence[Target]:
    """The repository, with `codecommit:References` naming the branch the merge moves
    (`targetBranch`, else the destination), as a push to that branch would."""
    target = repository(params, endpoints)
    branch = params.get("targetBranch") or params.get("destinationCommitSpecifier")
    refs = (f"refs/heads/{branch.removeprefix('refs/heads/')}",) if branch else ()
    return [Target(target.arn, target.repository, refs)]


def _merging(option: MergeOption) -> Handler:
    async def handler(call: Call, params: Params) -> Result:
        repo = await repository_row(call, params)
        source, destination = _specifiers(params)
        request = (
            MergeRequest(option)
            if option is MergeOption.FAST_FORWARD
            else merge_request(params, option)
        )
        result = await _service(call).merge(
            repo,
            source,
            destination,
            request,
            call.actor,
            target_branch=params.get("targetBranch") or None,
        )
        return _result(result)

    return handler


async def create_unreferenced_merge_commit(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    source, destination = _specifiers(params)
    raw = params.get("mergeOption")
    if not raw:
        raise MergeOptionRequired("mergeOption is required")
    try:
        option = MergeOption(raw)
    except ValueError:
        raise InvalidMergeOption(f"{raw!r} is not a merge option") from None
    request = merge_request(params, option)
    return _result(
        await _service(call).unreferenced(repo, source, destination, request, call.actor)
    )


async def get_merge_options(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    source, destination = _specifiers(params)
    level, strategy = conflict_options(params)
    found = await _service(call).options(repo, source, destination, level, strategy)
    return {
        "mergeOptions": [str(option) for option in found.options],
        "sourceCommitId": found.source,
        "destinationCommitId": found.destination,
        "baseCommitId": found.base,
    }


async def get_merge_commit(call: Call, params: Params) -> Result:
    repo = await repository_row(call, params)
    source, destination = _specifiers(params)
    conflict_options(params)
    found = await _service(call).merge_commit(repo, source, destination)
    result: Result = {
        "sourceCommitId": found.source,
        "destinationCommitId": found.destination,
    }
    if found.base:
        result["baseCommitId"] = found.base
    if found.merged:
        result["mergedCommitId"] = found.merged
    return result


OPERATIONS = [
    Operation("MergeBranchesByFastForward", _merging(MergeOption.FAST_FORWARD), on_target_branch),
    Operation("MergeBranchesBySquash", _merging(MergeOption.SQUASH), on_target_branch),
    Operation("MergeBranchesByThreeWay", _merging(MergeOption.THREE_WAY), on_target_branch),
    Operation("CreateUnreferencedMergeCommit", create_unreferenced_merge_commit, on_repository),
    Operation("GetMergeOptions", get_merge_options, on_repository),
    Operation("GetMergeCommit", get_merge_commit, on_repository),
]
