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


# git resolves a ref name by trying it under each of refs/, refs/tags/, refs/heads/ and
# refs/remotes/ (git-rev-parse(1) "SPECIFYING REVISIONS"; remote.c matches a push's
# destination the same way). A branch or tag whose short name starts with one of these
# makes another ref's name match twice: `refs/heads/refs/heads/main` next to
# `refs/heads/main` fails every later `git push ... HEAD:refs/heads/main` with "matches
# more than one". Such names are refused wherever a ref is created or moved.
AMBIGUOUS_PREFIXES = ("refs/", "heads/", "tags/", "remotes/")


def ambiguous_ref_problem(ref: str) -> str | None:
    """Why `ref` (a full branch or tag ref) is a name git clients cannot use, or None."""
    kind = reference_type(ref)
    name = short_name(ref)
    if kind == "other" or not name.startswith(AMBIGUOUS_PREFIXES):
        return None
    return f"{kind} name {name!r} is ambiguous: {kind} names may not start with " + ", ".join(
        AMBIGUOUS_PREFIXES
    )


def ref_update_problem(ref: str, new: str) -> str | None:
    """Why `ref` may not be set to `new`, or None. Deleting is always allowed, so a ref
    made before this rule can be removed."""
    return None if not new.strip("0") else ambiguous_ref_problem(ref)
