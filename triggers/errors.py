"""Errors of event delivery and its configuration.

TriggerError                       (message safe for clients; `aws_type` for the API)
├── InvalidSubscription            a webhook/rule setting that cannot work
├── SubscriptionNotFound           no webhook, rule or delivery by that id
├── TargetRefused                  the outbound URL rule or the SSRF guard refused the target
│   └── HostNotAllowed             a non-public address webhook_allowed_hosts does not allow
└── RepositoryTriggerError         a PutRepositoryTriggers input CodeCommit refuses
"""

from __future__ import annotations


class TriggerError(Exception):
    aws_type = "InvalidParameterException"

    def __init__(self, message: str, aws_type: str | None = None) -> None:
        super().__init__(message)
        if aws_type is not None:
            self.aws_type = aws_type


class InvalidSubscription(TriggerError):
    pass


class SubscriptionNotFound(TriggerError):
    pass


class TargetRefused(TriggerError):
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


class RepositoryTriggerError(TriggerError):
    pass
