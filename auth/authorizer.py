"""The one door: `authorize(principal, action, resource, context) -> Decision`.

Every front end (HTTP git, SSH git, the API, the web UI, pipeline actions) asks here,
and every decision goes to the audit sink. The decision is the policy engine's over the
principal's compiled identity policies (`Principal.policies`, loaded with the principal):
explicit deny > allow > implicit deny. Administrators hold `GitServerFullAccess` like any
attached policy, so an explicit deny binds them too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from auth.actions import Action
from auth.policy import ContextValue, PolicyRequest, evaluate
from auth.principal import Principal

__all__ = ["Action", "Authorizer", "AuthzRequest", "Decision", "Effect"]

log = logging.getLogger(__name__)


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

    def preview(
        self, principal: Principal, action: Action, resource: str, context: Context | None = None
    ) -> Decision:
        """The decision `authorize` would make, not audited: for choosing what to show
        (a link, a button, a row of a list), never for letting a request through."""
        return self._decide(AuthzRequest(principal, action, resource, context or {}))

    def _decide(self, request: AuthzRequest) -> Decision:
        principal = request.principal
        outcome = evaluate(
            principal.policies,
            PolicyRequest(
                action=str(request.action),
                resource=request.resource,
                context=policy_context(request.context),
                username=principal.name,
                userid=principal.user_id,
                principal_tags=principal.tags,
            ),
        )
        effect = Effect(str(outcome.effect))
        if outcome.matched_statements:
            reason = "decided by " + ", ".join(outcome.matched_statements)
        else:
            reason = "no statement allows it"
        return Decision(
            effect, str(request.action), request.resource, reason, outcome.matched_statements
        )


def policy_context(context: Context) -> dict[str, ContextValue]:
    """The condition keys the engine understands: text, numbers, booleans, lists of text."""
    result: dict[str, ContextValue] = {}
    for key, value in context.items():
        if isinstance(value, str | int | bool):
            result[key] = value
        elif isinstance(value, list | tuple):
            result[key] = tuple(str(item) for item in value)
    return result
