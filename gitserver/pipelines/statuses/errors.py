"""Errors of commit statuses and required status checks.

No AWS service has commit statuses; `aws_type` follows CodeCommit's naming so the API
mapping (one table, `api/errors.py`) needs nothing new. A missing repository or commit
is the store's error (`RepositoryNotFound`, `CommitNotFound`, `InvalidCommitId`).

CommitStatusError                    (package base, never raised itself)
├── InvalidStatusState               (InvalidInput) not pending|success|failure|error
├── InvalidStatusContext             (InvalidInput) empty, over 255 characters, control characters
├── InvalidStatusDescription         (InvalidInput) over 140 characters (GitHub's limit)
├── InvalidStatusTargetUrl           (InvalidInput) not an http(s) URL, or over 2,048 characters
└── TooManyRequiredStatusChecks      (LimitExceeded) more than 50 required contexts
"""

from __future__ import annotations

from gitserver.errors import DomainError, InvalidInput, LimitExceeded


class CommitStatusError(DomainError):
    """Base class of commit-status errors (raise a subclass)."""


def _error(name: str, category: type[DomainError]) -> type[CommitStatusError]:
    return type(name.removesuffix("Exception"), (CommitStatusError, category), {"aws_type": name})


InvalidStatusState = _error("InvalidStatusStateException", InvalidInput)
InvalidStatusContext = _error("InvalidStatusContextException", InvalidInput)
InvalidStatusDescription = _error("InvalidStatusDescriptionException", InvalidInput)
InvalidStatusTargetUrl = _error("InvalidStatusTargetUrlException", InvalidInput)
TooManyRequiredStatusChecks = _error("MaximumRequiredStatusChecksExceededException", LimitExceeded)
