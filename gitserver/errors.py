"""The categories every domain error belongs to, one each; front ends map categories.

DomainError                 a message safe to show the caller; `aws_type` names it for the API
├── NotFound                nothing by that name or id: a repository, branch, commit, user, webhook
├── AlreadyExists           the name or key is taken
├── Conflict                the state forbids it now: a compare-and-swap lost (RefMoved,
│                           ParentCommitIdOutdated), still in use (DeleteConflict), the
│                           default branch, a file where a folder is
├── InvalidInput            the request breaks a rule; sending it again cannot succeed
├── LimitExceeded           a quota on a count or a size (a third Git credential, the 51st tag)
├── AccessDenied            an authorization decision refused it (the message is AWS's wording)
└── AuthenticationFailed    the credentials identify no active principal

Every domain error class inherits its package's base (`StoreError`, `ContentError`,
`AuthError`, `TriggerError`) and exactly one category, e.g.
`class RepositoryNotFound(StoreError, NotFound)`; `tests/unit/gitserver/test_errors.py`
walks every class to hold that. A front end maps categories once, in one table:

- git over HTTP: `transport/http.py` `HTTP_STATUS` (status; `gitserver: <message>` as text/plain)
- git over SSH: `transport/sshcommand.py` `SSH_EXIT` (`gitserver: <message>` on stderr, exit status)
- the CodeCommit API: `api/errors.py` `AWS_TYPE` (a default `__type` when the class names none)
- the CLI: `cli/main.py` `CLI_EXIT` (`gitserver: error: <message>`, exit status)

`auth/policy` imports nothing from gitserver: its `PolicyError`s are mapped where the
policy service calls it (`auth/policies.validate_document` raises `InvalidInput`).
"""

from __future__ import annotations

from gitserver.db.outage import MESSAGE, is_unavailable


class DomainError(Exception):
    """Base class: a refusal the caller can act on, with a message safe to show them.

    `aws_type` is the CodeCommit exception name. Classes set it; an instance may override
    it where one condition has a different name per operation (GetCommit's
    `CommitIdDoesNotExistException` for what is elsewhere `CommitDoesNotExistException`).
    None leaves the name to the category's default (`api/errors.py`).
    """

    aws_type: str | None = None

    def __init__(self, message: str, aws_type: str | None = None) -> None:
        super().__init__(message)
        if aws_type is not None:
            self.aws_type = aws_type


class NotFound(DomainError):
    """Nothing by that name or id."""


class AlreadyExists(DomainError):
    """The name or key is taken."""


class Conflict(DomainError):
    """The current state forbids the change; it may succeed once the state changes."""


class InvalidInput(DomainError):
    """The request breaks a rule of the API or of the domain."""


class LimitExceeded(DomainError):
    """A quota on a count or a size; not a rate (a retry gets the same answer)."""


class AccessDenied(DomainError):
    """An authorization decision refused the request; the message says which and why."""


class AuthenticationFailed(DomainError):
    """The credentials identify no active principal."""


CATEGORIES: tuple[type[DomainError], ...] = (
    NotFound,
    AlreadyExists,
    Conflict,
    InvalidInput,
    LimitExceeded,
    AccessDenied,
    AuthenticationFailed,
)


def category_of(error: DomainError | type[DomainError]) -> type[DomainError]:
    """The category `error` (an instance or a class) belongs to.

    A class with none (a package base raised by mistake) counts as `InvalidInput`;
    the unit tests keep every concrete class in exactly one.
    """
    cls = error if isinstance(error, type) else type(error)
    for base in cls.__mro__:
        if base in CATEGORIES:
            return base
    return InvalidInput


# Not a domain error but a state of the storage: the database cannot be reached now.
# Front ends answer it with their own 503 (the rule of what counts is db/outage.py's).
UNAVAILABLE_MESSAGE = MESSAGE


def unavailable(error: BaseException) -> bool:
    """Whether `error` (or its cause) is a lost or refused database connection."""
    return is_unavailable(error)
