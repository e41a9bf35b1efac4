"""The rules of a pipeline: stages, actions, artifacts, namespaces, modes.

`problems()` lists every broken rule with its path in the wire shape; `validate()`
raises them as one error. Names follow botocore's patterns and lengths; the rest is
CodePipeline's structure (reference-pipeline-structure.html): at least two stages, the
first holding only Source actions and no other holding one, names unique where
CodePipeline requires it, and every input artifact an output of an action that runs
before (an earlier stage, or a lower runOrder in the same stage).

Provider configuration is `providers.py`'s, variables `variables.py`'s and trigger
filters `triggers.py`'s; this module runs them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gitserver.pipelines.definitions import providers, triggers, variables
from gitserver.pipelines.definitions.errors import Kind, Problem, raise_problems
from gitserver.pipelines.definitions.model import (
    Category,
    ExecutionMode,
    PipelineDefinition,
    PipelineType,
)

NAME = re.compile(r"[A-Za-z0-9.@\-_]+")
"""PipelineName, StageName, ActionName."""
ARTIFACT = re.compile(r"[a-zA-Z0-9_\-]+")
NAMESPACE = re.compile(r"[A-Za-z0-9@\-_]+")
PROVIDER = re.compile(r"[0-9A-Za-z_-]+")
"""ActionProvider and Version."""

MAX_STAGES = 50
MAX_ACTIONS_PER_STAGE = 50
RESERVED_NAMESPACES = frozenset({variables.PIPELINE_NAMESPACE, variables.VARIABLES_NAMESPACE})


def check_value(
    out: list[Problem],
    path: str,
    value: str,
    *,
    low: int,
    high: int,
    pattern: re.Pattern[str] | None = None,
    kind: Kind = Kind.VALUE,
) -> None:
    """Record a problem if `value` breaks a length range or a botocore pattern."""
    if not low <= len(value) <= high:
        out.append(Problem(kind, path, f"must be {low} to {high} characters long"))
    elif pattern is not None and not pattern.fullmatch(value):
        shown = value if len(value) <= 40 else value[:40] + "..."
        out.append(Problem(kind, path, f'"{shown}" must match {pattern.pattern}'))


def problems(definition: PipelineDefinition) -> tuple[Problem, ...]:
    """Every rule `definition` breaks, in document order within each rule."""
    out: list[Problem] = []
    checks: tuple[Callable[[PipelineDefinition, list[Problem]], None], ...] = (
        _pipeline,
        _stages,
        _actions,
        _artifacts,
        _namespaces,
    )
    for check in checks:
        check(definition, out)
    out += providers.problems(definition)
    out += variables.problems(definition)
    out += triggers.problems(definition)
    return tuple(out)


def validate(definition: PipelineDefinition) -> PipelineDefinition:
    """`definition`, if it breaks no rule.

    Raises:
        DefinitionError: every broken rule, with its path; the class is the first one's.
    """
    raise_problems(problems(definition))
    return definition


def _pipeline(d: PipelineDefinition, out: list[Problem]) -> None:
    check_value(out, "name", d.name, low=1, high=100, pattern=NAME)
    if d.version is not None and d.version < 1:
        out.append(Problem(Kind.VALUE, "version", "must be 1 or more"))
    if (
        d.effective_execution_mode is not ExecutionMode.SUPERSEDED
        and d.effective_pipeline_type is not PipelineType.V2
    ):
        mode = d.effective_execution_mode.value
        out.append(Problem(Kind.STRUCTURE, "executionMode", f"{mode} needs pipelineType V2"))


def _stages(d: PipelineDefinition, out: list[Problem]) -> None:
    if len(d.stages) < 2:
        out.append(
            Problem(
                Kind.STRUCTURE, "stages", f"a pipeline needs at least 2 stages, not {len(d.stages)}"
            )
        )
    if len(d.stages) > MAX_STAGES:
        out.append(Problem(Kind.STRUCTURE, "stages", f"at most {MAX_STAGES} stages"))
    seen: dict[str, int] = {}
    for s, stage in enumerate(d.stages):
        path = f"stages[{s}]"
        check_value(out, f"{path}.name", stage.name, low=1, high=100, pattern=NAME)
        if stage.name in seen:
            out.append(
                Problem(
                    Kind.STAGE,
                    f"{path}.name",
                    f'"{stage.name}" is also the name of stages[{seen[stage.name]}]',
                )
            )
        seen.setdefault(stage.name, s)
        if not stage.actions:
            out.append(Problem(Kind.STAGE, f"{path}.actions", "a stage needs at least one action"))
        elif len(stage.actions) > MAX_ACTIONS_PER_STAGE:
            out.append(
                Problem(Kind.STAGE, f"{path}.actions", f"at most {MAX_ACTIONS_PER_STAGE} actions")
            )
    kinds = [a.category for _, _, _, a in d.actions()]
    if kinds and all(k is Category.SOURCE for k in kinds):
        out.append(
            Problem(Kind.STRUCTURE, "stages", "a pipeline needs at least one non-Source action")
        )


def _actions(d: PipelineDefinition, out: list[Problem]) -> None:
    names: dict[tuple[int, str], int] = {}
    for s, a, _, action in d.actions():
        path = f"stages[{s}].actions[{a}]"
        check_value(out, f"{path}.name", action.name, low=1, high=100, pattern=NAME)
        if (s, action.name) in names:
            other = names[s, action.name]
            out.append(
                Problem(
                    Kind.ACTION,
                    f"{path}.name",
                    f'"{action.name}" is also the name of stages[{s}].actions[{other}]',
                )
            )
        names.setdefault((s, action.name), a)
        category = action.category
        if s == 0 and category is not Category.SOURCE:
            out.append(
                Problem(
                    Kind.STAGE,
                    f"{path}.actionTypeId.category",
                    f"the first stage holds only Source actions, not {category.value}",
                )
            )
        if s > 0 and category is Category.SOURCE:
            out.append(
                Problem(
                    Kind.STAGE,
                    f"{path}.actionTypeId.category",
                    "Source actions belong in the first stage only",
                )
            )
        type_id = action.action_type_id
        check_value(
            out, f"{path}.actionTypeId.provider", type_id.provider, low=1, high=35, pattern=PROVIDER
        )
        check_value(
            out, f"{path}.actionTypeId.version", type_id.version, low=1, high=9, pattern=PROVIDER
        )
        if action.run_order is not None and not 1 <= action.run_order <= 999:
            out.append(Problem(Kind.ACTION, f"{path}.runOrder", "must be 1 to 999"))
        if action.timeout_in_minutes is not None and not 5 <= action.timeout_in_minutes <= 86400:
            out.append(Problem(Kind.VALUE, f"{path}.timeoutInMinutes", "must be 5 to 86400"))
        for key, value in action.configuration.items():
            here = f"{path}.configuration.{key}"
            check_value(out, f"{path}.configuration", key, low=1, high=50)
            check_value(out, here, value, low=1, high=1000)


def _artifacts(d: PipelineDefinition, out: list[Problem]) -> None:
    outputs: dict[str, tuple[int, int, int]] = {}
    for s, a, _, action in d.actions():
        path = f"stages[{s}].actions[{a}]"
        for i, name in enumerate(action.output_artifacts):
            here = f"{path}.outputArtifacts[{i}].name"
            check_value(out, here, name, low=1, high=100, pattern=ARTIFACT)
            if name in outputs:
                ps, pa, _ = outputs[name]
                out.append(
                    Problem(
                        Kind.STRUCTURE,
                        here,
                        f'"{name}" is already an output of stages[{ps}].actions[{pa}]',
                    )
                )
            else:
                outputs[name] = (s, a, action.effective_run_order)
    for s, a, _, action in d.actions():
        path = f"stages[{s}].actions[{a}]"
        seen: set[str] = set()
        for i, name in enumerate(action.input_artifacts):
            here = f"{path}.inputArtifacts[{i}].name"
            check_value(out, here, name, low=1, high=100, pattern=ARTIFACT)
            if name in seen:
                out.append(Problem(Kind.STRUCTURE, here, f'"{name}" is already an input'))
            seen.add(name)
            source = outputs.get(name)
            if source is None:
                reason = f'"{name}" is not the output of any action'
            elif (source[0], source[2]) < (s, action.effective_run_order):
                continue
            else:
                reason = f'"{name}" is not an output of an earlier action'
            out.append(Problem(Kind.STRUCTURE, here, reason))


def _namespaces(d: PipelineDefinition, out: list[Problem]) -> None:
    artifacts = {n for _, _, _, a in d.actions() for n in a.output_artifacts}
    seen: dict[str, str] = {}
    for s, a, _, action in d.actions():
        if action.namespace is None:
            continue
        here = f"stages[{s}].actions[{a}].namespace"
        ns = action.namespace
        check_value(out, here, ns, low=1, high=100, pattern=NAMESPACE)
        if ns in seen:
            out.append(Problem(Kind.STRUCTURE, here, f'"{ns}" is also the namespace of {seen[ns]}'))
        elif ns in RESERVED_NAMESPACES:
            out.append(Problem(Kind.STRUCTURE, here, f'"{ns}" is reserved'))
        elif ns in artifacts:
            out.append(Problem(Kind.STRUCTURE, here, f'"{ns}" is also an artifact name'))
        seen.setdefault(ns, f"stages[{s}].actions[{a}]")
