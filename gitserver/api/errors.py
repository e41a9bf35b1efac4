"""Errors of the CodeCommit API, and the one table that maps domain errors to AWS's names.

ApiError                 an AWS error: `__type` (the model's exception name), message, status
└── (raised directly)    protocol errors: target, signature, serialization

A domain error (`gitserver.errors.DomainError`) becomes an `ApiError` here, once: its
`aws_type` if its class or the instance names one, else its category's row of
`AWS_TYPE`. Every such error is HTTP 400, as AWS's JSON protocol answers client errors
(AccessDeniedException included); only the signature errors in `dispatcher.py` are 403.
"""

from __future__ import annotations

from gitserver.errors import (
    AccessDenied,
    AlreadyExists,
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidInput,
    LimitExceeded,
    NotFound,
    category_of,
)


class ApiError(Exception):
    """An error as AWS returns it: HTTP 400 unless said otherwise, `__type` and `message`."""

    def __init__(self, aws_type: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.aws_type = aws_type
        self.message = message
        self.status = status


AWS_TYPE: dict[type[DomainError], str] = {
    NotFound: "ResourceNotFoundException",
    AlreadyExists: "ResourceAlreadyExistsException",
    Conflict: "ConflictException",
    InvalidInput: "InvalidParameterException",
    LimitExceeded: "LimitExceededException",
    AccessDenied: "AccessDeniedException",
    AuthenticationFailed: "UnrecognizedClientException",
}
"""`__type` by category, for a domain error whose class names no CodeCommit exception."""


def to_api_error(exc: Exception) -> ApiError | None:
    """The AWS error for a domain error, or None if it is not one (a bug: 500)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, DomainError):
        return ApiError(exc.aws_type or AWS_TYPE[category_of(exc)], str(exc))
    return None
