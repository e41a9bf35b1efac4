"""Errors raised by the policy package.

PolicyError
├── MalformedPolicyDocument   the document breaks the grammar (IAM's MalformedPolicyDocument)
└── PolicySizeExceeded        the document is longer than its kind allows (IAM's LimitExceeded)

Both carry a JSON path (``Statement[1].Condition.StringLike``; empty for the whole
document), a reason worded like IAM's message, and, where it is known, the character
offset in the document's text (JSON's syntax error position, or the path's place
there). The message is safe to show a client: it quotes only the caller's own document.
"""

from __future__ import annotations


class PolicyError(Exception):
    """Base class of policy errors."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason
        self.offset: int | None = None

    def __str__(self) -> str:
        return f"{self.reason} (at {self.path})" if self.path else self.reason


class MalformedPolicyDocument(PolicyError):
    """The policy document is not valid IAM policy grammar."""


class PolicySizeExceeded(PolicyError):
    """The document, whitespace not counted, is longer than the limit for its kind."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__("", f"Cannot exceed quota for PolicySize: {limit} (document has {size})")
        self.size = size
        self.limit = limit
