"""Protected-branch rules and push rules as values, and the decisions that need no
objects: which rules a ref falls under and what an update of it breaks.

Branch patterns are globs over the branch name (without `refs/heads/`), matched like
GitHub's branch protection: `*` and `?` stay within one `/`-separated part, `**` crosses
them, everything else is literal. A dozen lines of translation to a regex (escaped
first) instead of a dependency: `fnmatch` lets `*` cross `/`, so `release/*` would
protect `release/a/b` too, and `wcmatch`/`pathspec` bring far more than this needs.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from gitserver.store.naming import ZERO_OID
from gitserver.store.refs import RefKind

__all__ = [
    "FLAGS",
    "BranchRule",
    "PushRules",
    "branch_name",
    "glob_matches",
    "ref_problems",
    "valid_pattern",
]

HEADS = "refs/heads/"
MAX_PATTERN = 256
FLAGS = ("no_force_push", "no_deletion", "require_pull_request", "require_status_checks")


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    wild = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wild.get(part, re.escape(part)) for part in parts))


def glob_matches(pattern: str, branch: str) -> bool:
    """Whether `branch` (a name without `refs/heads/`) matches the glob `pattern`."""
    return _compile(pattern).fullmatch(branch) is not None


def valid_pattern(pattern: str) -> str | None:
    """Why `pattern` cannot be a branch pattern, or None."""
    if not pattern or len(pattern) > MAX_PATTERN:
        return f"a branch pattern has 1 to {MAX_PATTERN} characters"
    if pattern.startswith(("-", "/", HEADS)) or any(c.isspace() for c in pattern):
        return "a branch pattern is a branch name glob: no spaces, no leading - or /"
    return None


def branch_name(ref: str) -> str | None:
    return ref[len(HEADS) :] if ref.startswith(HEADS) else None


@dataclass(frozen=True, slots=True)
class BranchRule:
    pattern: str
    no_force_push: bool = False
    no_deletion: bool = False
    require_pull_request: bool = False
    require_status_checks: bool = False

    def as_json(self) -> dict[str, object]:
        return {
            "pattern": self.pattern,
            "noForcePush": self.no_force_push,
            "noDeletion": self.no_deletion,
            "requirePullRequest": self.require_pull_request,
            "requireStatusChecks": self.require_status_checks,
        }

    def flags(self) -> list[str]:
        return [flag for flag in FLAGS if getattr(self, flag)]


@dataclass(frozen=True, slots=True)
class PushRules:
    """Everything a push to one repository is checked against (beyond IAM).

    `secret_scanning` is the effective setting (the repository's, else the server's).
    """

    branches: tuple[BranchRule, ...] = ()
    secret_scanning: bool = True
    max_file_size: int | None = None

    def matching(self, ref: str) -> list[BranchRule]:
        branch = branch_name(ref)
        if branch is None:
            return []
        return [rule for rule in self.branches if glob_matches(rule.pattern, branch)]

    def needs_objects(self, refs: list[str]) -> bool:
        """Whether checking a push of `refs` must read the pushed objects."""
        if self.secret_scanning or self.max_file_size is not None:
            return True
        return any(rule.no_force_push for ref in refs for rule in self.matching(ref))

    def needs_checks(self, refs: list[str]) -> bool:
        return self.needs_objects(refs) or any(self.matching(ref) for ref in refs)


def ref_problems(
    rules: list[BranchRule], ref: str, old: str, new: str, kind: RefKind | None, *, by_merge: bool
) -> list[str]:
    """What an update of `ref` breaks among the rules protecting it (not the status
    checks, which need SQL). `kind` None: not known (a deletion or creation needs none).

    Creating a branch that matches a rule is allowed: there is no history to protect yet.
    """
    problems: list[str] = []
    if old == ZERO_OID:
        return problems
    for rule in rules:
        why = f"protected by {rule.pattern!r}"
        if new == ZERO_OID and rule.no_deletion:
            problems.append(f"deleting this branch is not allowed ({why})")
        elif rule.require_pull_request and not by_merge:
            problems.append(
                f"this branch changes only by merging a pull request ({why}): "
                "push to another branch and open a pull request"
            )
        elif new != ZERO_OID and kind is RefKind.FORCED and rule.no_force_push:
            problems.append(f"force-pushing to this branch is not allowed ({why})")
    return sorted(set(problems))
