"""IAM-style identity policies: parse and validate on write, compile once, evaluate purely.

A pure package: it imports only the standard library and its own modules, never
``gitserver`` or the rest of ``auth``.

    document = parse_policy(text, PolicyKind.USER_INLINE)     # on write; raises PolicyError
    policy = compile_policy(document, name="AllowFeature")    # cached by sha256
    decision = evaluate([policy], PolicyRequest("codecommit:GitPush", arn, context))
"""

from __future__ import annotations

from auth.policy.compiled import (
    CompiledPolicy,
    clear_compile_cache,
    compile_cache_size,
    compile_policy,
    named,
)
from auth.policy.errors import MalformedPolicyDocument, PolicyError, PolicySizeExceeded
from auth.policy.evaluation import (
    ContextValue,
    DecisionEffect,
    PolicyDecision,
    PolicyRequest,
    evaluate,
)
from auth.policy.grammar import SIZE_LIMITS, PolicyDocument, PolicyKind, parse_policy
from auth.policy.managed import MANAGED_POLICIES

__all__ = [
    "MANAGED_POLICIES",
    "SIZE_LIMITS",
    "CompiledPolicy",
    "ContextValue",
    "DecisionEffect",
    "MalformedPolicyDocument",
    "PolicyDecision",
    "PolicyDocument",
    "PolicyError",
    "PolicyKind",
    "PolicyRequest",
    "PolicySizeExceeded",
    "clear_compile_cache",
    "compile_cache_size",
    "compile_policy",
    "evaluate",
    "named",
    "parse_policy",
]
