"""Variables: `#{namespace.key}` references, pipeline-level variables, their checks.

A reference names an action's `namespace` (its output variables, e.g.
`#{SourceVariables.CommitId}`), `codepipeline` (`#{codepipeline.PipelineExecutionId}`)
or `variables` (the pipeline's V2 `variables`, `#{variables.Env}`). A reference in an
action's configuration must name a namespace of an action that runs before it; it is
replaced just before the action starts (reference-variables.html). CodePipeline has no
escape for `#{`: any `#{...}` in a configuration value is a reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from gitserver.pipelines.definitions import providers
from gitserver.pipelines.definitions.errors import (
    Kind,
    PipelineValidation,
    Problem,
    UnresolvedVariable,
)
from gitserver.pipelines.definitions.model import Action, PipelineDefinition, PipelineType

PIPELINE_NAMESPACE = "codepipeline"
VARIABLES_NAMESPACE = "variables"
PIPELINE_VARIABLES = ("PipelineExecutionId",)
"""The keys of the `codepipeline` namespace."""

VARIABLE_NAME = re.compile(r"[A-Za-z0-9@\-_]+")
MAX_VARIABLES = 50
MAX_VALUE = 1000
MAX_DESCRIPTION = 200

_ANY = re.compile(r"#\{([^{}]*)\}")
_REFERENCE = re.compile(r"([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_.]+)")

Scope = Mapping[str, Mapping[str, str]]
"""Namespace -> key -> value, as an execution knows them when an action starts."""


def references(text: str) -> tuple[tuple[str, str], ...]:
    """The (namespace, key) pairs `text` refers to, in order (malformed ones left out)."""
    found = (_REFERENCE.fullmatch(m.group(1)) for m in _ANY.finditer(text))
    return tuple((m.group(1), m.group(2)) for m in found if m is not None)


def resolve(text: str, scope: Scope) -> str:
    """`text` with every `#{namespace.key}` replaced by its value in `scope`.

    Raises:
        UnresolvedVariable: a reference is malformed, or names an unknown namespace or key
            (all of them are named).
    """
    missing: list[str] = []

    def value(match: re.Match[str]) -> str:
        ref = _REFERENCE.fullmatch(match.group(1))
        if ref is None:
            missing.append(f"{match.group(0)} is not of the form #{{namespace.key}}")
            return match.group(0)
        namespace, key = ref.groups()
        if namespace not in scope:
            missing.append(f"{match.group(0)}: no namespace {namespace}")
        elif key not in scope[namespace]:
            missing.append(f"{match.group(0)}: namespace {namespace} has no variable {key}")
        else:
            return scope[namespace][key]
        return match.group(0)

    resolved = _ANY.sub(value, text)
    if missing:
        raise UnresolvedVariable("; ".join(missing))
    return resolved


def resolve_configuration(action: Action, scope: Scope) -> dict[str, str]:
    """The action's configuration with every reference resolved.

    Raises:
        UnresolvedVariable: a value refers to something `scope` lacks.
    """
    return {key: resolve(value, scope) for key, value in action.configuration.items()}


def resolve_start_variables(
    definition: PipelineDefinition, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The pipeline variables of a new execution: the defaults, with `overrides` applied.

    Raises:
        PipelineValidation: an override names no declared variable, breaks the name or
            value constraints, or a declared variable has neither default nor override.
    """
    given = dict(overrides or {})
    declared = {v.name: v for v in definition.variables}
    bad: list[str] = []
    for name, value in given.items():
        if name not in declared:
            names = ", ".join(sorted(declared)) or "none"
            bad.append(f"variable {name} is not declared in the pipeline (declared: {names})")
        elif not 1 <= len(value) <= MAX_VALUE:
            bad.append(f"variable {name}: the value must be 1 to {MAX_VALUE} characters long")
    resolved = {}
    for name, variable in declared.items():
        chosen = given.get(name, variable.default_value)
        if chosen is None:
            bad.append(f"variable {name} has no default value and none was given")
        else:
            resolved[name] = chosen
    if bad:
        raise PipelineValidation("; ".join(bad))
    return resolved


def scope(
    *,
    execution_id: str,
    variables: Mapping[str, str],
    namespaces: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Mapping[str, str]]:
    """The scope of an action: the pipeline's namespaces plus earlier actions' outputs."""
    found: dict[str, Mapping[str, str]] = dict(namespaces or {})
    found[PIPELINE_NAMESPACE] = {"PipelineExecutionId": execution_id}
    found[VARIABLES_NAMESPACE] = dict(variables)
    return found


def problems(definition: PipelineDefinition) -> list[Problem]:
    """Problems of the `variables` declarations and of the references to them."""
    return _declarations(definition) + _references(definition)


def _declarations(d: PipelineDefinition) -> list[Problem]:
    out: list[Problem] = []
    if d.variables and d.effective_pipeline_type is not PipelineType.V2:
        out.append(Problem(Kind.STRUCTURE, "variables", "pipeline variables need pipelineType V2"))
    if len(d.variables) > MAX_VARIABLES:
        out.append(Problem(Kind.VALUE, "variables", f"at most {MAX_VARIABLES} variables"))
    seen: set[str] = set()
    for i, v in enumerate(d.variables):
        path = f"variables[{i}]"
        if not 1 <= len(v.name) <= 128 or not VARIABLE_NAME.fullmatch(v.name):
            out.append(Problem(Kind.VALUE, f"{path}.name", f"must match {VARIABLE_NAME.pattern}"))
        if v.name in seen:
            out.append(Problem(Kind.STRUCTURE, f"{path}.name", f'"{v.name}" is declared twice'))
        seen.add(v.name)
        if v.default_value is not None and not 1 <= len(v.default_value) <= MAX_VALUE:
            reason = f"must be 1 to {MAX_VALUE} characters long"
            out.append(Problem(Kind.VALUE, f"{path}.defaultValue", reason))
        if v.description is not None and len(v.description) > MAX_DESCRIPTION:
            reason = f"must be at most {MAX_DESCRIPTION} characters long"
            out.append(Problem(Kind.VALUE, f"{path}.description", reason))
    return out


def _references(d: PipelineDefinition) -> list[Problem]:
    out: list[Problem] = []
    declared = {v.name for v in d.variables}
    for s, a, _, action in d.actions():
        before = _namespaces_before(d, s, action)
        for key, value in action.configuration.items():
            path = f"stages[{s}].actions[{a}].configuration.{key}"
            out += (
                Problem(Kind.ACTION, path, r) for r in _reference_problems(value, before, declared)
            )
    return out


def _namespaces_before(d: PipelineDefinition, stage: int, action: Action) -> dict[str, Action]:
    """The namespaces of the actions that finish before `action` starts."""
    return {
        other.namespace: other
        for s, _, _, other in d.actions()
        if other.namespace is not None
        and (s, other.effective_run_order) < (stage, action.effective_run_order)
    }


def _reference_problems(
    text: str, before: Mapping[str, Action], declared: Iterable[str]
) -> list[str]:
    reasons = []
    for match in _ANY.finditer(text):
        ref = _REFERENCE.fullmatch(match.group(1))
        if ref is None:
            reasons.append(f"{match.group(0)} is not of the form #{{namespace.key}}")
            continue
        namespace, key = ref.groups()
        shown = match.group(0)
        if namespace == PIPELINE_NAMESPACE:
            if key not in PIPELINE_VARIABLES:
                reasons.append(f"{shown}: the codepipeline namespace has only PipelineExecutionId")
        elif namespace == VARIABLES_NAMESPACE:
            if key not in declared:
                reasons.append(f"{shown}: no pipeline variable {key} is declared")
        elif namespace not in before:
            reasons.append(f"{shown}: no earlier action has the namespace {namespace}")
        else:
            known = providers.output_variables(before[namespace])
            if known is not None and key not in known:
                reasons.append(f"{shown}: {namespace} has only {', '.join(known)}")
    return reasons
