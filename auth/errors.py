"""Errors raised by the auth package; each is also one category of `gitserver.errors`.

AuthError
├── NotFound              (NotFound) a user, group, policy or credential does not exist
├── AlreadyExists         (AlreadyExists) the name or key is taken
├── InvalidInput          (InvalidInput) a name or value breaks the rules
│   └── MalformedPolicy   a policy document IAM would refuse, with where in its text
├── LimitExceeded         (LimitExceeded) e.g. a third Git credential for one user
├── DeleteConflict        (Conflict) still in use: an attached policy, a default policy version
└── AuthenticationFailed  (AuthenticationFailed) credentials do not identify an active principal

The names match their categories, so `except auth.errors.NotFound` catches only auth's,
and `except gitserver.errors.NotFound` catches every package's.
"""

from __future__ import annotations

from gitserver import errors as category


class AuthError(category.DomainError):
    """Base class of auth errors; the message is safe to show to the caller."""


class NotFound(AuthError, category.NotFound):
    pass


class AlreadyExists(AuthError, category.AlreadyExists):
    pass


class InvalidInput(AuthError, category.InvalidInput):
    pass


class MalformedPolicy(InvalidInput):
    """IAM's MalformedPolicyDocument; `line` and `column` (1-based) say where in the
    document's text, when the policy engine could tell (None: the whole document)."""

    aws_type = "MalformedPolicyDocumentException"

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class LimitExceeded(AuthError, category.LimitExceeded):
    pass


class DeleteConflict(AuthError, category.Conflict):
    """IAM's DeleteConflict: the thing is still in use."""

    aws_type = "DeleteConflictException"


class AuthenticationFailed(AuthError, category.AuthenticationFailed):
    """`code` names the failure for the audit log, as AWS would (never the secret)."""

    def __init__(self, message: str, code: str = "AuthenticationFailed") -> None:
        super().__init__(message)
        self.code = code
