"""The one door: `authorize(principal, action, resource, context) -> Decision`.

Every front end (HTTP git, SSH git, the API, the web UI, pipeline actions) asks here,
and every decision goes to the audit sink. Until IAM-style policies land, the rule is
AWS's default with a full-access administrator: admins are allowed, everyone else is
implicitly denied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from auth.principal import Principal

log = logging.getLogger(__name__)


class Action(StrEnum):
    """Every action a front end may ask about. A typo fails at import, grep finds uses."""

    GIT_PULL = "codecommit:GitPull"
    GIT_PUSH = "codecommit:GitPush"
    CREATE_REPOSITORY = "codecommit:CreateRepository"
    DELETE_REPOSITORY = "codecommit:DeleteRepository"
    GET_REPOSITORY = "codecommit:GetRepository"
    LIST_REPOSITORIES = "codecommit:ListRepositories"


class Effect(StrEnum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitDeny"
    IMPLICIT_DENY = "implicitDeny"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome and why: the statements (or built-in rule) that decided it."""

    effect: Effect
    action: str
    resource: str
    reason: str
    matched_statements: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.effect is Effect.ALLOWED

    def message(self, principal: Principal) -> str:
        """The sentence a denied client sees, in AWS's wording."""
        head = (
            f"User: {principal.arn} is not authorized to perform: {self.action} "
            f"on resource: {self.resource}"
        )
        if self.effect is Effect.EXPLICIT_DENY:
            return f"{head} with an explicit deny in an identity-based policy"
        return f"{head} because no identity-based policy allows the {self.action} action"


Context = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class AuthzRequest:
    principal: Principal
    action: Action
    resource: str
    context: Context = field(default_factory=dict)


AuditSink = Callable[[AuthzRequest, Decision], None]


def _log_decision(request: AuthzRequest, decision: Decision) -> None:
    log.debug(
        "authorization decision",
        extra={
            "principal": request.principal.name,
            "action": str(request.action),
            "resource": request.resource,
            "decision": str(decision.effect),
            "transport": request.context.get("gitserver:Transport", ""),
        },
    )


class Authorizer:
    """Decides and audits. Pure apart from the audit call: no I/O of its own."""

    def __init__(self, audit: AuditSink = _log_decision) -> None:
        self._audit = audit

    def authorize(
        self, principal: Principal, action: Action, resource: str, context: Context | None = None
    ) -> Decision:
        request = AuthzRequest(principal, action, resource, context or {})
        decision = self._decide(request)
        self._audit(request, decision)
        return decision

    def _decide(self, request: AuthzRequest) -> Decision:
        if request.principal.is_admin:
            return Decision(
                Effect.ALLOWED,
                str(request.action),
                request.resource,
                "administrator",
                ("builtin:Administrator",),
            )
        return Decision(
            Effect.IMPLICIT_DENY, str(request.action), request.resource, "no statement allows it"
        )
