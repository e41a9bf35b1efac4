"""CodeCommit's JSON for the content values services return (`gitserver.content.views`).

The one place these shapes are written; operations call these instead of building dicts.
"""

from __future__ import annotations

from typing import Any

from gitserver.content.views import (
    BlobRef,
    CommitInfo,
    Difference,
    FileContent,
    FileVersion,
    Folder,
    FolderEntry,
    UserInfo,
)

Json = dict[str, Any]


def user_json(user: UserInfo) -> Json:
    return {"name": user.name, "email": user.email, "date": user.date}


def commit_json(commit: CommitInfo) -> Json:
    return {
        "commitId": commit.commit_id,
        "treeId": commit.tree_id,
        "parents": list(commit.parents),
        "message": commit.message,
        "author": user_json(commit.author),
        "committer": user_json(commit.committer),
        "additionalData": "",
    }


def file_json(found: FileContent) -> Json:
    return {
        "commitId": found.commit_id,
        "blobId": found.blob_id,
        "filePath": found.path,
        "fileMode": found.mode,
        "fileSize": found.size,
        "fileContent": found.content,
    }


def _where(entry: FolderEntry) -> Json:
    return {"absolutePath": entry.path, "relativePath": entry.name}


def folder_json(folder: Folder) -> Json:
    return {
        "commitId": folder.commit_id,
        "folderPath": folder.path,
        "treeId": folder.tree_id,
        "subFolders": [{"treeId": e.object_id, **_where(e)} for e in folder.of_kind("folder")],
        "files": [
            {"blobId": e.object_id, "fileMode": e.mode, **_where(e)} for e in folder.of_kind("file")
        ],
        "symbolicLinks": [
            {"blobId": e.object_id, "fileMode": e.mode, **_where(e)}
            for e in folder.of_kind("symlink")
        ],
        "subModules": [{"commitId": e.object_id, **_where(e)} for e in folder.of_kind("submodule")],
    }


def _blob_json(blob: BlobRef) -> Json:
    return {"blobId": blob.blob_id, "path": blob.path, "mode": blob.mode}


def difference_json(difference: Difference) -> Json:
    result: Json = {"changeType": difference.change_type}
    if difference.before is not None:
        result["beforeBlob"] = _blob_json(difference.before)
    if difference.after is not None:
        result["afterBlob"] = _blob_json(difference.after)
    return result


def file_version_json(version: FileVersion) -> Json:
    result: Json = {
        "commit": commit_json(version.commit),
        "path": version.path,
        "revisionChildren": list(version.revision_children),
    }
    if version.blob_id is not None:
        result["blobId"] = version.blob_id
    return result
