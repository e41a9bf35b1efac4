"""Errors of the CodeCommit API, and the one table that maps domain errors to AWS's names.

ApiError                 an AWS error: `__type` (the model's exception name), message, status
└── (raised directly)    validation, signature and access errors

Domain errors are mapped once, here: an error that carries an `aws_type` attribute
(store, content, triggers) by that attribute, auth errors by class.
"""

from __future__ import annotations

from auth.errors import AlreadyExists, AuthError, InvalidInput, LimitExceeded, NotFound


class ApiError(Exception):
    """An error as AWS returns it: HTTP 400 unless said otherwise, `__type` and `message`."""

    def __init__(self, aws_type: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.aws_type = aws_type
        self.message = message
        self.status = status


_AUTH = {
    NotFound: "ResourceNotFoundException",
    AlreadyExists: "ResourceAlreadyExistsException",
    InvalidInput: "InvalidParameterException",
    LimitExceeded: "LimitExceededException",
}


def to_api_error(exc: Exception) -> ApiError | None:
    """The AWS error for a domain error, or None if it is not one (a bug: 500)."""
    if isinstance(exc, ApiError):
        return exc
    aws_type = getattr(exc, "aws_type", None)
    if isinstance(aws_type, str):
        return ApiError(aws_type, str(exc))
    for cls, name in _AUTH.items():
        if isinstance(exc, cls):
            return ApiError(name, str(exc))
    if isinstance(exc, AuthError):
        return ApiError("InvalidParameterException", str(exc))
    return None
