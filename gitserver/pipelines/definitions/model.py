"""A pipeline definition: CodePipeline's PipelineDeclaration as frozen values.

Field names are the wire names in snake_case (`actionTypeId` -> `action_type_id`).
An optional scalar the file left out is None, so `to_wire` gives back exactly what came
in; the `effective_*` properties apply CodePipeline's defaults. Lists and maps are
tuples and dicts; `explicit` remembers which of them were written out empty
(`"inputArtifacts": []`) so those too survive the round trip.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum


class Category(StrEnum):
    """ActionTypeId.category (botocore's `Compute` is not supported here)."""

    SOURCE = "Source"
    BUILD = "Build"
    TEST = "Test"
    DEPLOY = "Deploy"
    APPROVAL = "Approval"
    INVOKE = "Invoke"


class Owner(StrEnum):
    """ActionTypeId.owner."""

    AWS = "AWS"
    THIRD_PARTY = "ThirdParty"
    CUSTOM = "Custom"


class ExecutionMode(StrEnum):
    """How executions share the pipeline; QUEUED and PARALLEL need pipelineType V2."""

    SUPERSEDED = "SUPERSEDED"
    QUEUED = "QUEUED"
    PARALLEL = "PARALLEL"


class PipelineType(StrEnum):
    """V1, or V2 (variables, triggers, the QUEUED and PARALLEL modes)."""

    V1 = "V1"
    V2 = "V2"


class PullRequestEvent(StrEnum):
    """GitPullRequestEventType."""

    OPEN = "OPEN"
    UPDATED = "UPDATED"
    CLOSED = "CLOSED"


DEFAULT_RUN_ORDER = 1
TRIGGER_PROVIDER_TYPE = "CodeStarSourceConnection"
"""botocore's only PipelineTriggerProviderType; here it applies to CodeCommit sources."""


@dataclass(frozen=True, slots=True)
class ActionTypeId:
    """Which action runs: category, owner, provider and version."""

    category: Category
    owner: Owner
    provider: str
    version: str


@dataclass(frozen=True, slots=True)
class Action:
    """ActionDeclaration. `region`, `role_arn` are kept and ignored."""

    name: str
    action_type_id: ActionTypeId
    run_order: int | None = None
    configuration: Mapping[str, str] = field(default_factory=dict, hash=False)
    input_artifacts: tuple[str, ...] = ()
    output_artifacts: tuple[str, ...] = ()
    namespace: str | None = None
    region: str | None = None
    role_arn: str | None = None
    timeout_in_minutes: int | None = None
    explicit: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def effective_run_order(self) -> int:
        """`runOrder`, 1 when left out; equal values run in parallel."""
        return DEFAULT_RUN_ORDER if self.run_order is None else self.run_order

    @property
    def category(self) -> Category:
        """The action's category (a shortcut for `action_type_id.category`)."""
        return self.action_type_id.category

    @property
    def provider(self) -> str:
        """The action's provider (a shortcut for `action_type_id.provider`)."""
        return self.action_type_id.provider


@dataclass(frozen=True, slots=True)
class Stage:
    """StageDeclaration: a name and its actions."""

    name: str
    actions: tuple[Action, ...]

    def runs(self) -> tuple[tuple[int, tuple[Action, ...]], ...]:
        """The actions grouped by run order, ascending: each group runs in parallel."""
        orders = sorted({a.effective_run_order for a in self.actions})
        return tuple(
            (o, tuple(a for a in self.actions if a.effective_run_order == o)) for o in orders
        )


@dataclass(frozen=True, slots=True)
class Variable:
    """PipelineVariableDeclaration (V2): a name, a default and a description."""

    name: str
    default_value: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class FilterCriteria:
    """Includes and excludes globs (branches, tags or file paths); None when left out."""

    includes: tuple[str, ...] | None = None
    excludes: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class PushFilter:
    """GitPushFilter: tags, or branches with optional file paths."""

    tags: FilterCriteria | None = None
    branches: FilterCriteria | None = None
    file_paths: FilterCriteria | None = None


@dataclass(frozen=True, slots=True)
class PullRequestFilter:
    """GitPullRequestFilter: events, destination branches, file paths."""

    events: tuple[PullRequestEvent, ...] | None = None
    branches: FilterCriteria | None = None
    file_paths: FilterCriteria | None = None


@dataclass(frozen=True, slots=True)
class GitConfiguration:
    """Which source action a trigger belongs to, and its push and pull-request filters."""

    source_action_name: str
    push: tuple[PushFilter, ...] | None = None
    pull_request: tuple[PullRequestFilter, ...] | None = None


@dataclass(frozen=True, slots=True)
class Trigger:
    """PipelineTriggerDeclaration (V2)."""

    provider_type: str
    git_configuration: GitConfiguration


@dataclass(frozen=True, slots=True)
class PipelineDefinition:
    """PipelineDeclaration. `role_arn` and the artifact stores are kept and ignored."""

    name: str
    stages: tuple[Stage, ...]
    role_arn: str | None = None
    artifact_store: Mapping[str, object] | None = field(default=None, hash=False)
    artifact_stores: Mapping[str, object] | None = field(default=None, hash=False)
    version: int | None = None
    execution_mode: ExecutionMode | None = None
    pipeline_type: PipelineType | None = None
    variables: tuple[Variable, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    explicit: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def effective_execution_mode(self) -> ExecutionMode:
        """`executionMode`, SUPERSEDED when left out."""
        return self.execution_mode or ExecutionMode.SUPERSEDED

    @property
    def effective_pipeline_type(self) -> PipelineType:
        """`pipelineType`, V1 when left out (as CreatePipeline does)."""
        return self.pipeline_type or PipelineType.V1

    def actions(self) -> Iterator[tuple[int, int, Stage, Action]]:
        """Every action with its stage index, its index in the stage, and its stage."""
        for s, stage in enumerate(self.stages):
            for a, action in enumerate(stage.actions):
                yield s, a, stage, action

    def source_actions(self) -> tuple[Action, ...]:
        """The Source actions (all in the first stage once validated)."""
        return tuple(a for _, _, _, a in self.actions() if a.category is Category.SOURCE)

    def action(self, stage_name: str, action_name: str) -> Action | None:
        """The action of that name in that stage, or None."""
        for stage in self.stages:
            if stage.name == stage_name:
                return next((a for a in stage.actions if a.name == action_name), None)
        return None


def with_defaults(definition: PipelineDefinition) -> PipelineDefinition:
    """`definition` with CodePipeline's defaults written in, as GetPipeline returns it:
    every `runOrder`, the `executionMode` and the `pipelineType`."""
    stages = tuple(
        replace(s, actions=tuple(replace(a, run_order=a.effective_run_order) for a in s.actions))
        for s in definition.stages
    )
    return replace(
        definition,
        stages=stages,
        execution_mode=definition.effective_execution_mode,
        pipeline_type=definition.effective_pipeline_type,
    )
