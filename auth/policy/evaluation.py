"""``evaluate()``: the pure decision over a principal's compiled policies.

IAM UG "Policy evaluation logic" for identity-based policies: every request starts
implicitly denied; a matching ``Deny`` statement in any policy is final (explicit deny);
otherwise a matching ``Allow`` allows; otherwise the implicit deny stands. Statement and
policy order never matter. No I/O and no clock: time arrives as ``aws:CurrentTime`` /
``aws:EpochTime`` in the context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from auth.policy.compiled import CompiledPolicy

ContextValue = str | int | bool | Sequence[str]


class DecisionEffect(StrEnum):
    """The same values as ``auth.authorizer.Effect``."""

    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitDeny"
    IMPLICIT_DENY = "implicitDeny"


@dataclass(frozen=True, slots=True)
class PolicyRequest:
    """What is asked: an action on a resource, with the request context.

    ``context`` holds condition keys (``aws:SourceIp``, ``codecommit:References``, ...);
    they double as policy variables. ``username``, ``userid`` and ``principal_tags``
    become ``aws:username``, ``aws:userid`` and ``aws:PrincipalTag/<k>`` and win over the
    same keys in ``context``: they come from authentication, never from the client.
    """

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    username: str | None = None
    userid: str | None = None
    principal_tags: Mapping[str, str] = field(default_factory=dict)

    def normalized_context(self) -> dict[str, tuple[str, ...]]:
        """Lower-case keys (IAM: key names are case-insensitive), values as text tuples."""
        result = {key.lower(): _as_texts(value) for key, value in self.context.items()}
        if self.username is not None:
            result["aws:username"] = (self.username,)
        if self.userid is not None:
            result["aws:userid"] = (self.userid,)
        for tag, value in self.principal_tags.items():
            result[f"aws:principaltag/{tag.lower()}"] = (value,)
        return result


def _as_texts(value: ContextValue) -> tuple[str, ...]:
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, str | int):
        return (str(value),)
    return tuple(value)


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """The effect and the statements that decided it (``Policy/Sid`` or ``Policy/Statement[i]``).

    For an explicit deny these are the matching Deny statements, for an allow the
    matching Allow statements, for an implicit deny nothing.
    """

    effect: DecisionEffect
    matched_statements: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.effect is DecisionEffect.ALLOWED


def evaluate(policies: Sequence[CompiledPolicy], request: PolicyRequest) -> PolicyDecision:
    """Decide a request against a principal's policies: explicit deny > allow > implicit deny."""
    context = request.normalized_context()
    allows: list[str] = []
    denies: list[str] = []
    for policy in policies:
        for statement in policy.candidates(request.action, request.resource):
            if statement.applies(request.action, request.resource, context):
                label = f"{policy.name}/{statement.label}" if policy.name else statement.label
                (denies if statement.deny else allows).append(label)
    if denies:
        return PolicyDecision(DecisionEffect.EXPLICIT_DENY, tuple(denies))
    if allows:
        return PolicyDecision(DecisionEffect.ALLOWED, tuple(allows))
    return PolicyDecision(DecisionEffect.IMPLICIT_DENY)
