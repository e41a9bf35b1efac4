"""Errors raised by the auth package.

AuthError
├── NotFound            a user, group or credential does not exist
├── AlreadyExists       the name or key is taken
├── InvalidInput        a name or value breaks the rules
├── LimitExceeded       e.g. a third Git credential for one user
├── DeleteConflict      still in use: an attached policy, a default policy version
└── AuthenticationFailed  credentials do not identify an active principal
"""

from __future__ import annotations


class AuthError(Exception):
    """Base class of auth errors; the message is safe to show to the caller."""


class NotFound(AuthError):
    pass


class AlreadyExists(AuthError):
    pass


class InvalidInput(AuthError):
    pass


class LimitExceeded(AuthError):
    pass


class DeleteConflict(AuthError):
    """IAM's DeleteConflict: the thing is still in use."""


class AuthenticationFailed(AuthError):
    """`code` names the failure for the audit log, as AWS would (never the secret)."""

    def __init__(self, message: str, code: str = "AuthenticationFailed") -> None:
        super().__init__(message)
        self.code = code
