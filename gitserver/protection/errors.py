"""Errors of push protection.

No AWS service has push protection; like the commit statuses' errors, `aws_type` follows
CodeCommit's naming, and the one refusal CodeCommit does model (a file over a size) keeps
its class, `content.errors.FileContentTooLarge` (`FileContentSizeLimitExceededException`).

ProtectionError                (package base, never raised itself)
├── InvalidBranchPattern       (InvalidInput) not a usable branch name glob
├── InvalidPushRules           (InvalidInput) a size that is not a positive number of bytes
├── BranchProtected            (Conflict) the update breaks a protected-branch rule
└── SecretsDetected            (InvalidInput) an added line holds a credential
"""

from __future__ import annotations

from gitserver.errors import Conflict, DomainError, InvalidInput


class ProtectionError(DomainError):
    """Base class of push protection's errors (raise a subclass)."""


def _error(name: str, aws_type: str, category: type[DomainError]) -> type[ProtectionError]:
    return type(name, (ProtectionError, category), {"aws_type": aws_type})


InvalidBranchPattern = _error("InvalidBranchPattern", "InvalidBranchPatternException", InvalidInput)
InvalidPushRules = _error("InvalidPushRules", "InvalidPushRulesException", InvalidInput)
BranchProtected = _error("BranchProtected", "BranchProtectedException", Conflict)
SecretsDetected = _error("SecretsDetected", "SecretsDetectedException", InvalidInput)
