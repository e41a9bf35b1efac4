"""Errors of event delivery and its configuration.

TriggerError                       (message safe for clients; `aws_type` for the API)
├── InvalidSubscription            a webhook/rule setting that cannot work
├── SubscriptionNotFound           no webhook, rule or delivery by that id
├── TargetRefused                  the SSRF guard refused the target address
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


class RepositoryTriggerError(TriggerError):
    pass
