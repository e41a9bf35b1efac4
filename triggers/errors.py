"""Errors of event delivery and its configuration; each is one category of `gitserver.errors`.

TriggerError                       (message safe for clients; `aws_type` for the API)
├── InvalidSubscription            (InvalidInput) a webhook/rule setting that cannot work
├── SubscriptionNotFound           (NotFound) no webhook, rule or delivery by that id
├── TargetRefused                  (InvalidInput) the outbound URL rule or the SSRF guard
│   │                              refused the target
│   └── HostNotAllowed             a non-public address webhook_allowed_hosts does not allow
└── RepositoryTriggerError         (InvalidInput) a PutRepositoryTriggers input CodeCommit
                                   refuses (`aws_type` per instance: the model's name)
"""

from __future__ import annotations

from gitserver.errors import DomainError, InvalidInput, NotFound


class TriggerError(DomainError):
    """Base class of trigger errors (raise a subclass)."""


class InvalidSubscription(TriggerError, InvalidInput):
    pass


class SubscriptionNotFound(TriggerError, NotFound):
    pass


class TargetRefused(TriggerError, InvalidInput):
    pass


class HostNotAllowed(TargetRefused):
    """The one refusal an operator can lift: the message says how, `reason` says why."""

    HINT = (
        "if it is meant, add it to webhook_allowed_hosts (--webhook-allowed-hosts), restart "
        "the server, then `gitserver webhook redeliver DELIVERY_ID`"
    )

    def __init__(self, reason: str) -> None:
        super().__init__(f"{reason}; {self.HINT}")
        self.reason = reason


class RepositoryTriggerError(TriggerError, InvalidInput):
    pass
