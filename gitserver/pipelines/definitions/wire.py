"""The wire shape: botocore's PipelineDeclaration (camelCase JSON) to and from the model.

`from_wire` checks the shape only: fields, types, enums. The rules of a pipeline
(stages, artifacts, providers, ...) are `validate`'s. `to_wire(from_wire(x)) == x` for
any x that passes, so the API can hand a stored pipeline back to boto3 unchanged.

YAML writes `version: 1` and `PollForSourceChanges: false` without quotes, so the
action type's version and configuration values accept numbers and booleans and keep them
as the strings the wire shape has (`"1"`, `"false"`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from gitserver.pipelines.definitions.errors import Kind, Problem, error_for, raise_problems
from gitserver.pipelines.definitions.model import (
    Action,
    ActionTypeId,
    Category,
    ExecutionMode,
    FilterCriteria,
    GitConfiguration,
    Owner,
    PipelineDefinition,
    PipelineType,
    PullRequestEvent,
    PullRequestFilter,
    PushFilter,
    Stage,
    Trigger,
    Variable,
)
from gitserver.pipelines.definitions.wiretypes import Reader, at

E = TypeVar("E", bound=StrEnum)

_PIPELINE = ("name", "roleArn", "artifactStore", "artifactStores", "stages", "version")
_PIPELINE_V2 = ("executionMode", "pipelineType", "variables", "triggers")
_STAGE_UNSUPPORTED = ("blockers", "onFailure", "onSuccess", "beforeEntry")
_ACTION = (
    "name", "actionTypeId", "runOrder", "configuration", "inputArtifacts",
    "outputArtifacts", "namespace", "region", "roleArn", "timeoutInMinutes",
)  # fmt: skip
_ACTION_UNSUPPORTED = ("commands", "outputVariables", "environmentVariables")
_CRITERIA = ("includes", "excludes")


def from_wire(wire: Mapping[str, Any]) -> PipelineDefinition:
    """The model of a PipelineDeclaration dict (the shape only; see `validate`).

    Raises:
        DefinitionError: every shape problem found, with its path.
    """
    r = Reader()
    definition = _pipeline(r, wire)
    raise_problems(r.problems)
    if definition is None:  # every path to None records a problem first
        raise error_for([Problem(Kind.STRUCTURE, "", "not a pipeline declaration")])
    return definition


def _pipeline(r: Reader, wire: object) -> PipelineDefinition | None:
    k = Kind.STRUCTURE
    m = r.mapping(wire, "", k, known=_PIPELINE + _PIPELINE_V2)
    if m is None:
        return None
    name = r.string(r.required(m, "name", "", k), "name", k)
    stages_raw = r.array(r.required(m, "stages", "", k), "stages", k)
    stages = tuple(_stage(r, s, f"stages[{i}]") for i, s in enumerate(stages_raw or ()))
    for key in ("artifactStore", "artifactStores"):
        if key in m and not isinstance(m[key], dict):
            r.fail(k, key, "must be an object")
    role_arn = r.string(m.get("roleArn"), "roleArn", k)
    version = r.integer(m.get("version"), "version", k)
    mode = r.enum(m.get("executionMode"), ExecutionMode, "executionMode", k)
    kind = r.enum(m.get("pipelineType"), PipelineType, "pipelineType", k)
    variables = tuple(
        _variable(r, raw, f"variables[{i}]")
        for i, raw in enumerate(r.array(m.get("variables"), "variables", k) or ())
    )
    triggers = tuple(
        _trigger(r, raw, f"triggers[{i}]")
        for i, raw in enumerate(r.array(m.get("triggers"), "triggers", k) or ())
    )
    if name is None or r.problems:
        return None
    return PipelineDefinition(
        name=name,
        stages=tuple(s for s in stages if s is not None),
        role_arn=role_arn,
        artifact_store=copy.deepcopy(m.get("artifactStore")),
        artifact_stores=copy.deepcopy(m.get("artifactStores")),
        version=version,
        execution_mode=mode,
        pipeline_type=kind,
        variables=tuple(v for v in variables if v is not None),
        triggers=tuple(t for t in triggers if t is not None),
        explicit=frozenset(key for key in ("variables", "triggers") if m.get(key) == []),
    )


def _stage(r: Reader, wire: object, path: str) -> Stage | None:
    k = Kind.STAGE
    m = r.mapping(wire, path, k, known=("name", "actions"), unsupported=_STAGE_UNSUPPORTED)
    if m is None:
        return None
    name = r.string(r.required(m, "name", path, k), at(path, "name"), k)
    raw = r.array(r.required(m, "actions", path, k), at(path, "actions"), k)
    actions = [_action(r, a, f"{path}.actions[{i}]") for i, a in enumerate(raw or ())]
    if name is None or raw is None or any(a is None for a in actions):
        return None
    return Stage(name=name, actions=tuple(a for a in actions if a is not None))


def _action(r: Reader, wire: object, path: str) -> Action | None:
    k = Kind.ACTION
    m = r.mapping(wire, path, k, known=_ACTION, unsupported=_ACTION_UNSUPPORTED)
    if m is None:
        return None
    name = r.string(r.required(m, "name", path, k), at(path, "name"), k)
    type_id = _type_id(r, r.required(m, "actionTypeId", path, k), at(path, "actionTypeId"))
    run_order = r.integer(m.get("runOrder"), at(path, "runOrder"), k)
    configuration = r.configuration(m.get("configuration"), at(path, "configuration"), k)
    inputs = _artifacts(r, m.get("inputArtifacts"), at(path, "inputArtifacts"))
    outputs = _artifacts(r, m.get("outputArtifacts"), at(path, "outputArtifacts"))
    namespace, region, role_arn = (
        r.string(m.get(key), at(path, key), k) for key in ("namespace", "region", "roleArn")
    )
    timeout = r.integer(m.get("timeoutInMinutes"), at(path, "timeoutInMinutes"), k)
    if name is None or type_id is None:
        return None
    return Action(
        name=name,
        action_type_id=type_id,
        run_order=run_order,
        configuration=configuration,
        input_artifacts=inputs,
        output_artifacts=outputs,
        namespace=namespace,
        region=region,
        role_arn=role_arn,
        timeout_in_minutes=timeout,
        explicit=frozenset(
            key
            for key in ("configuration", "inputArtifacts", "outputArtifacts")
            if key in m and not m[key]
        ),
    )


def _type_id(r: Reader, wire: object, path: str) -> ActionTypeId | None:
    k = Kind.ACTION
    m = r.mapping(wire, path, k, known=("category", "owner", "provider", "version"))
    if m is None:
        return None
    category = r.enum(r.required(m, "category", path, k), Category, at(path, "category"), k)
    owner = r.enum(r.required(m, "owner", path, k), Owner, at(path, "owner"), k)
    provider = r.string(r.required(m, "provider", path, k), at(path, "provider"), k)
    version = r.scalar(r.required(m, "version", path, k), at(path, "version"), k)
    if category is None or owner is None or provider is None or version is None:
        return None
    return ActionTypeId(category=category, owner=owner, provider=provider, version=version)


def _artifacts(r: Reader, wire: object, path: str) -> tuple[str, ...]:
    names = []
    for i, item in enumerate(r.array(wire, path, Kind.ACTION) or ()):
        here = f"{path}[{i}]"
        m = r.mapping(item, here, Kind.ACTION, known=("name",), unsupported=("files",))
        if m is not None:
            name = r.string(r.required(m, "name", here, Kind.ACTION), at(here, "name"), Kind.ACTION)
            if name is not None:
                names.append(name)
    return tuple(names)


def _variable(r: Reader, wire: object, path: str) -> Variable | None:
    k = Kind.STRUCTURE
    m = r.mapping(wire, path, k, known=("name", "defaultValue", "description"))
    if m is None:
        return None
    name = r.string(r.required(m, "name", path, k), at(path, "name"), k)
    if name is None:
        return None
    return Variable(
        name=name,
        default_value=r.string(m.get("defaultValue"), at(path, "defaultValue"), k),
        description=r.string(m.get("description"), at(path, "description"), k),
    )


def _trigger(r: Reader, wire: object, path: str) -> Trigger | None:
    k = Kind.STRUCTURE
    m = r.mapping(wire, path, k, known=("providerType", "gitConfiguration"))
    if m is None:
        return None
    provider = r.string(r.required(m, "providerType", path, k), at(path, "providerType"), k)
    here = at(path, "gitConfiguration")
    g = r.mapping(
        r.required(m, "gitConfiguration", path, k),
        here,
        k,
        known=("sourceActionName", "push", "pullRequest"),
    )
    if g is None or provider is None:
        return None
    source = r.string(r.required(g, "sourceActionName", here, k), at(here, "sourceActionName"), k)
    push = r.array(g.get("push"), at(here, "push"), k)
    pulls = r.array(g.get("pullRequest"), at(here, "pullRequest"), k)
    if source is None:
        return None
    config = GitConfiguration(
        source_action_name=source,
        push=None
        if push is None
        else tuple(_push(r, p, f"{here}.push[{i}]") for i, p in enumerate(push)),
        pull_request=None
        if pulls is None
        else tuple(_pull(r, p, f"{here}.pullRequest[{i}]") for i, p in enumerate(pulls)),
    )
    return Trigger(provider_type=provider, git_configuration=config)


def _push(r: Reader, wire: object, path: str) -> PushFilter:
    m = r.mapping(wire, path, Kind.STRUCTURE, known=("tags", "branches", "filePaths")) or {}
    return PushFilter(
        tags=_criteria(r, m.get("tags"), at(path, "tags")),
        branches=_criteria(r, m.get("branches"), at(path, "branches")),
        file_paths=_criteria(r, m.get("filePaths"), at(path, "filePaths")),
    )


def _pull(r: Reader, wire: object, path: str) -> PullRequestFilter:
    k = Kind.STRUCTURE
    m = r.mapping(wire, path, k, known=("events", "branches", "filePaths")) or {}
    events = r.array(m.get("events"), at(path, "events"), k)
    return PullRequestFilter(
        events=None
        if events is None
        else tuple(
            e
            for i, raw in enumerate(events)
            if (e := r.enum(raw, PullRequestEvent, f"{path}.events[{i}]", k)) is not None
        ),
        branches=_criteria(r, m.get("branches"), at(path, "branches")),
        file_paths=_criteria(r, m.get("filePaths"), at(path, "filePaths")),
    )


def _criteria(r: Reader, wire: object, path: str) -> FilterCriteria | None:
    if wire is None:
        return None
    m = r.mapping(wire, path, Kind.STRUCTURE, known=_CRITERIA) or {}
    return FilterCriteria(
        includes=r.strings(m.get("includes"), at(path, "includes"), Kind.STRUCTURE),
        excludes=r.strings(m.get("excludes"), at(path, "excludes"), Kind.STRUCTURE),
    )


def to_wire(definition: PipelineDefinition) -> dict[str, Any]:
    """The PipelineDeclaration dict of `definition`, exactly as it was read."""
    d = definition
    wire: dict[str, Any] = {"name": d.name}
    _put(wire, "roleArn", d.role_arn)
    _put(wire, "artifactStore", copy.deepcopy(d.artifact_store))
    _put(wire, "artifactStores", copy.deepcopy(d.artifact_stores))
    wire["stages"] = [
        {"name": s.name, "actions": [_action_wire(a) for a in s.actions]} for s in d.stages
    ]
    _put(wire, "version", d.version)
    _put(wire, "executionMode", d.execution_mode and d.execution_mode.value)
    _put(wire, "pipelineType", d.pipeline_type and d.pipeline_type.value)
    if d.variables or "variables" in d.explicit:
        wire["variables"] = [_variable_wire(v) for v in d.variables]
    if d.triggers or "triggers" in d.explicit:
        wire["triggers"] = [_trigger_wire(t) for t in d.triggers]
    return wire


def _action_wire(a: Action) -> dict[str, Any]:
    t = a.action_type_id
    wire: dict[str, Any] = {
        "name": a.name,
        "actionTypeId": {
            "category": t.category.value,
            "owner": t.owner.value,
            "provider": t.provider,
            "version": t.version,
        },
    }
    _put(wire, "runOrder", a.run_order)
    if a.configuration or "configuration" in a.explicit:
        wire["configuration"] = dict(a.configuration)
    for key, names in (
        ("inputArtifacts", a.input_artifacts),
        ("outputArtifacts", a.output_artifacts),
    ):
        if names or key in a.explicit:
            wire[key] = [{"name": n} for n in names]
    _put(wire, "namespace", a.namespace)
    _put(wire, "region", a.region)
    _put(wire, "roleArn", a.role_arn)
    _put(wire, "timeoutInMinutes", a.timeout_in_minutes)
    return wire


def _variable_wire(v: Variable) -> dict[str, Any]:
    wire: dict[str, Any] = {"name": v.name}
    _put(wire, "defaultValue", v.default_value)
    _put(wire, "description", v.description)
    return wire


def _trigger_wire(t: Trigger) -> dict[str, Any]:
    g = t.git_configuration
    git: dict[str, Any] = {"sourceActionName": g.source_action_name}
    if g.push is not None:
        git["push"] = [
            _filter_wire(tags=p.tags, branches=p.branches, filePaths=p.file_paths) for p in g.push
        ]
    if g.pull_request is not None:
        git["pullRequest"] = [_pull_wire(p) for p in g.pull_request]
    return {"providerType": t.provider_type, "gitConfiguration": git}


def _pull_wire(p: PullRequestFilter) -> dict[str, Any]:
    wire = _filter_wire(branches=p.branches, filePaths=p.file_paths)
    if p.events is not None:
        wire = {"events": [e.value for e in p.events], **wire}
    return wire


def _filter_wire(**criteria: FilterCriteria | None) -> dict[str, Any]:
    wire: dict[str, Any] = {}
    for key, c in criteria.items():
        if c is not None:
            wire[key] = {}
            _put(wire[key], "includes", None if c.includes is None else list(c.includes))
            _put(wire[key], "excludes", None if c.excludes is None else list(c.excludes))
    return wire


def _put(wire: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        wire[key] = value


def problems_of(wire: Mapping[str, Any]) -> tuple[Problem, ...]:
    """The shape problems of a PipelineDeclaration dict (empty when `from_wire` accepts it)."""
    r = Reader()
    _pipeline(r, wire)
    return tuple(r.problems)
