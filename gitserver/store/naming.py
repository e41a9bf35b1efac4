"""CodeCommit's rules for repository names, and the ref vocabulary."""

from __future__ import annotations

import re

from gitserver.store.errors import InvalidRepositoryName

# CodeCommit: 1-100 of [\w.-], case-sensitive, not ending in .git. ASCII only, so a name
# is the same string in a URL, a path and an ARN.
_REPOSITORY_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")

ZERO_OID = "0" * 40


def validate_repository_name(name: str) -> str:
    """Return `name` if CodeCommit would accept it.

    Raises:
        InvalidRepositoryName: with the rule it breaks.
    """
    if not _REPOSITORY_NAME.fullmatch(name):
        raise InvalidRepositoryName(
            "The repository name is not valid: use 1-100 letters, digits, '.', '_' or '-'"
        )
    if name in {".", ".."}:
        raise InvalidRepositoryName("The repository name is not valid: '.' and '..' are reserved")
    if name.endswith(".git"):
        raise InvalidRepositoryName("The repository name is not valid: it may not end in .git")
    return name


def reference_type(ref: str) -> str:
    if ref.startswith("refs/heads/"):
        return "branch"
    if ref.startswith("refs/tags/"):
        return "tag"
    return "other"


def short_name(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref
