"""`policy simulate`: how a user's policies decide a request, without making it.

The CLI's `policy simulate` and the web UI's simulate form both call `simulate`, so
they print the same decision for the same input: the user's policies as loaded for a
real request (`load_principal`), evaluated with the given context and nothing else
(no source address, no time: the caller names every condition key it wants).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from auth.errors import InvalidInput
from auth.identities import get_user
from auth.policy import PolicyDecision, PolicyRequest, evaluate
from auth.principals import load_principal

Context = dict[str, str | list[str]]


def simulation_context(pairs: Iterable[str]) -> Context:
    """`KEY=VALUE` pairs; a key given several times becomes a list (codecommit:References).

    Raises:
        InvalidInput: a pair without `=` or without a key.
    """
    context: Context = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"context {pair!r}: expected KEY=VALUE")
        previous = context.get(key)
        if previous is None:
            context[key] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            context[key] = [previous, value]
    return context


async def simulate(
    session: AsyncSession,
    user_name: str,
    action: str,
    resource: str,
    context: Context,
    account_id: str,
) -> PolicyDecision:
    """The decision `user_name`'s policies give `action` on `resource` with `context`.

    Raises:
        NotFound: no such user.
    """
    user = await get_user(session, user_name)
    principal = await load_principal(session, user, account_id, "simulation")
    return evaluate(
        principal.policies,
        PolicyRequest(
            action=action,
            resource=resource,
            context=context,
            username=principal.name,
            userid=principal.user_id,
            principal_tags=principal.tags,
        ),
    )


def simulation_json(decision: PolicyDecision) -> dict[str, object]:
    """The CLI's `--json` answer: `{"decision", "matchedStatements"}`."""
    return {
        "decision": str(decision.effect),
        "matchedStatements": list(decision.matched_statements),
    }


def simulation_text(decision: PolicyDecision) -> str:
    """The CLI's line: `allowed: GitServerFullAccess/CodeCommitFullAccess`."""
    matched = ", ".join(decision.matched_statements) or "no statement matched"
    return f"{decision.effect}: {matched}"
