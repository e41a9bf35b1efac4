"""Compile a validated document once into matchers; cached by the document's sha256.

Actions match case-insensitively, resources case-sensitively (IAM UG "Action" and
"Resource" elements), both as whole-string wildcard patterns. Patterns without variables
are folded into one precompiled alternation; resources with ``${...}`` are rendered per
request and compiled through a bounded cache.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

from auth.policy.conditions import CompiledCondition, Context, compile_condition
from auth.policy.globs import compile_glob, compile_globs, plain
from auth.policy.grammar import Effect, PolicyDocument, Statement, canonical_json, parse_policy
from auth.policy.variables import Template

_K = TypeVar("_K")
_V = TypeVar("_V")

CACHE_SIZE = 4096
CANDIDATE_CACHE_SIZE = 65536
_cache: dict[str, tuple[CompiledStatement, ...]] = {}
# Raw document text -> digest: a principal's policies are re-read for every request, and
# canonicalizing JSON costs ~1 ms a document, hashing the text a few microseconds.
_digests: dict[str, str] = {}
# (digest, action, resource) -> the statements whose action and static resource match:
# the same few pairs are asked again and again, and most statements never match them.
_candidates: dict[tuple[str, str, str], tuple[CompiledStatement, ...]] = {}
_cache_lock = threading.Lock()  # front ends may compile from worker threads


def _remember(cache: dict[_K, _V], key: _K, value: _V, limit: int) -> None:
    with _cache_lock:
        if len(cache) >= limit:
            del cache[next(iter(cache))]  # oldest first, like a FIFO
        cache[key] = value


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    """One statement's matchers: action and resource patterns, condition entries."""

    label: str
    """The Sid, or ``Statement[i]`` for a statement without one."""
    deny: bool
    actions: re.Pattern[str]
    not_action: bool
    resources: re.Pattern[str] | None
    resource_templates: tuple[Template, ...]
    not_resource: bool
    conditions: tuple[CompiledCondition, ...]

    def may_apply(self, action: str, resource: str) -> bool:
        """The context-free part of `applies`: action, and resources without variables."""
        if (self.actions.fullmatch(action) is not None) == self.not_action:
            return False
        if self.resource_templates:
            return True  # rendered per request
        hit = self.resources is not None and self.resources.fullmatch(resource) is not None
        return hit != self.not_resource

    def applies(self, action: str, resource: str, context: Context) -> bool:
        """Whether action, resource and every condition entry match the request."""
        if (self.actions.fullmatch(action) is not None) == self.not_action:
            return False
        if not self._resource_matches(resource, context):
            return False
        return all(condition.holds(context) for condition in self.conditions)

    def _resource_matches(self, resource: str, context: Context) -> bool:
        hit = self.resources is not None and self.resources.fullmatch(resource) is not None
        for value in self.resource_templates:
            if hit:
                break
            pieces = value.render(context)
            if pieces is None:
                # An unresolved variable matches nothing; under NotResource that would
                # widen the statement to every resource, so the statement fails instead.
                if self.not_resource:
                    return False
                continue
            hit = compile_glob(pieces).fullmatch(resource) is not None
        return hit != self.not_resource


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A policy ready for ``evaluate()``; ``name`` labels its statements in decisions."""

    name: str
    digest: str
    statements: tuple[CompiledStatement, ...]

    def candidates(self, action: str, resource: str) -> tuple[CompiledStatement, ...]:
        """The statements that can apply to `action` on `resource` (memoized)."""
        key = (self.digest, action, resource)
        found = _candidates.get(key)
        if found is None:
            found = tuple(s for s in self.statements if s.may_apply(action, resource))
            _remember(_candidates, key, found, CANDIDATE_CACHE_SIZE)
        return found


def compile_policy(
    document: PolicyDocument | str | Mapping[str, object], name: str = ""
) -> CompiledPolicy:
    """Compile a document, reusing the compiled form of an identical document.

    Raises:
        MalformedPolicyDocument: a raw document that does not validate.
    """
    if isinstance(document, PolicyDocument):
        canonical, digest = document.canonical, document.digest
    elif isinstance(document, str) and document in _digests and _digests[document] in _cache:
        return CompiledPolicy(name, _digests[document], _cache[_digests[document]])
    else:
        canonical = canonical_json(document)[1]
        digest = _digest(canonical)
    statements = _cache.get(digest)
    if statements is None:
        parsed = document if isinstance(document, PolicyDocument) else parse_policy(canonical)
        statements = tuple(_compile_statement(s) for s in parsed.statements)
        _remember(_cache, digest, statements, CACHE_SIZE)
    if isinstance(document, str):
        _remember(_digests, document, digest, CACHE_SIZE)
    return CompiledPolicy(name, digest, statements)


def named(policy: CompiledPolicy, name: str) -> CompiledPolicy:
    """The same compiled policy under another name (as attached to a user or group)."""
    return replace(policy, name=name)


def clear_compile_cache() -> None:
    """Empty the compile cache (benchmarks measure a cold start with it)."""
    with _cache_lock:
        _cache.clear()
        _digests.clear()
        _candidates.clear()


def compile_cache_size() -> int:
    """How many compiled documents the cache holds."""
    return len(_cache)


def _digest(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()


def _compile_statement(statement: Statement) -> CompiledStatement:
    # Without variables render() never fails; escapes like ``${*}`` stay literal pieces.
    patterns = tuple(t.render({}) or () for t in statement.resources if not t.has_variables)
    dynamic = tuple(t for t in statement.resources if t.has_variables)
    return CompiledStatement(
        label=statement.sid or f"Statement[{statement.index}]",
        deny=statement.effect is Effect.DENY,
        actions=compile_globs(tuple(plain(a) for a in statement.actions), ignore_case=True),
        not_action=statement.not_action,
        resources=compile_globs(patterns) if patterns else None,
        resource_templates=dynamic,
        not_resource=statement.not_resource,
        conditions=tuple(compile_condition(c) for c in statement.conditions),
    )
