"""What an SSH client asked for: one of the git services on one repository, or nothing.

git sends `git-upload-pack '/v1/repos/NAME'` (the path single-quoted by git's
`sq_quote`); other clients drop the quotes or the leading slash, add `.git`, or write
`git upload-pack`. All of those are one request here. Anything else is refused with one
line for the client's stderr and a non-zero exit status.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from gitserver import errors as category
from gitserver.store.errors import InvalidRepositoryName
from gitserver.store.naming import validate_repository_name
from gitserver.transport.engine import SERVICES

PRODUCT = "gitserver"
INTERACTIVE = (
    f"You have successfully authenticated over SSH. You can use Git to interact with {PRODUCT}."
)
_ONLY_GIT = "only git-upload-pack, git-receive-pack and git-upload-archive are available"
_PREFIX = "v1/repos/"


# git prints the stderr line and then "fatal: Could not read from remote repository"
# whatever the status is; 1 for every category keeps what scripts calling ssh have seen.
SSH_EXIT: dict[type[category.DomainError], int] = {
    category.NotFound: 1,
    category.AlreadyExists: 1,
    category.Conflict: 1,
    category.InvalidInput: 1,
    category.LimitExceeded: 1,
    category.AccessDenied: 1,
    category.AuthenticationFailed: 1,
}
"""The SSH front end's one mapping of domain errors (see `gitserver.errors`)."""


class Refused(Exception):
    """A request the SSH front end turns down: `message` goes to stderr, `status` is
    the exit status. This is the SSH edge's one mapping of refusals."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    @classmethod
    def of(cls, error: category.DomainError) -> Refused:
        """A domain error as one `gitserver: <message>` line and its category's status."""
        return cls(f"gitserver: {error}", SSH_EXIT[category.category_of(error)])


@dataclass(frozen=True, slots=True)
class GitCommand:
    service: str
    repository: str


def parse_command(command: str | None, subsystem: str | None = None) -> GitCommand:
    """The git service and repository named by an exec request.

    Raises:
        Refused: a shell, a subsystem, another command or a malformed path.
    """
    if subsystem is not None:
        raise Refused(f"gitserver: the {_shown(subsystem)} subsystem is not available: {_ONLY_GIT}")
    if command is None:
        raise Refused(INTERACTIVE)
    try:
        argv = shlex.split(command)
    except ValueError:
        raise Refused("gitserver: the command could not be parsed") from None
    if len(argv) == 3 and argv[0] == "git":
        argv = [f"git-{argv[1]}", argv[2]]
    if not argv or argv[0] not in SERVICES:
        shown = _shown(argv[0]) if argv else "(empty)"
        raise Refused(f"gitserver: unknown command {shown}: {_ONLY_GIT}. {INTERACTIVE}")
    if len(argv) != 2:
        raise Refused(f"gitserver: usage: {argv[0]} '/v1/repos/NAME'")
    return GitCommand(argv[0], repository_name(argv[1]))


def repository_name(path: str) -> str:
    """`NAME` from `/v1/repos/NAME`, `v1/repos/NAME.git`, `/NAME.git` and the like.

    Raises:
        Refused: not a repository path, or not a valid repository name.
    """
    bare = path.strip("/")
    if bare.startswith(_PREFIX):
        name = bare[len(_PREFIX) :].removesuffix(".git")
    elif bare.endswith(".git") and "/" not in bare:
        name = bare.removesuffix(".git")  # `/NAME.git`, as the HTTP front end accepts
    else:
        raise Refused(f"gitserver: {_shown(path)} is not a repository path: use /v1/repos/NAME")
    try:
        return validate_repository_name(name)
    except InvalidRepositoryName as exc:
        raise Refused.of(exc) from None


def _shown(value: str, limit: int = 60) -> str:
    """A client-supplied value, quoted and cut short, safe to echo in one line."""
    text = value if len(value) <= limit else value[:limit] + "..."
    return repr(text)
