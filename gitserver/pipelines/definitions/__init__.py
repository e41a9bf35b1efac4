"""Pipeline definitions: CodePipeline's pipeline structure, read, checked and matched.

A pure library (no database, no I/O beyond parsing text) for the execution engine, the
`codepipeline` API, the CLI (`gitserver pipeline create --file`) and the web UI:

- `parse_pipeline(text, filename=)`: a JSON or YAML file -> a validated definition
- `from_wire(dict)` / `to_wire(definition)`: botocore's PipelineDeclaration shape;
  `with_defaults` writes in runOrder, executionMode and pipelineType as GetPipeline does
- `validate(definition)` / `problems(definition)`: the rules, with JSON paths
- `resolve`, `resolve_configuration`, `resolve_start_variables`, `scope`: variables
- `push_matches`, `pull_request_matches`, `source_actions_for_repository`: triggers
- `providers.PROVIDERS` and `settings`: the supported providers and their configuration
"""

from __future__ import annotations

from gitserver.pipelines.definitions.errors import (
    DefinitionError,
    InvalidActionDeclaration,
    InvalidStageDeclaration,
    InvalidStructure,
    PipelineValidation,
    Problem,
    UnresolvedVariable,
)
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
    with_defaults,
)
from gitserver.pipelines.definitions.parse import load_document, parse_pipeline
from gitserver.pipelines.definitions.providers import PROVIDERS, Provider, provider_of
from gitserver.pipelines.definitions.triggers import (
    pull_request_matches,
    push_matches,
    source_actions_for_repository,
    trigger_for,
)
from gitserver.pipelines.definitions.validate import problems, validate
from gitserver.pipelines.definitions.variables import (
    references,
    resolve,
    resolve_configuration,
    resolve_start_variables,
    scope,
)
from gitserver.pipelines.definitions.wire import from_wire, to_wire

__all__ = [
    "PROVIDERS",
    "Action",
    "ActionTypeId",
    "Category",
    "DefinitionError",
    "ExecutionMode",
    "FilterCriteria",
    "GitConfiguration",
    "InvalidActionDeclaration",
    "InvalidStageDeclaration",
    "InvalidStructure",
    "Owner",
    "PipelineDefinition",
    "PipelineType",
    "PipelineValidation",
    "Problem",
    "Provider",
    "PullRequestEvent",
    "PullRequestFilter",
    "PushFilter",
    "Stage",
    "Trigger",
    "UnresolvedVariable",
    "Variable",
    "from_wire",
    "load_document",
    "parse_pipeline",
    "problems",
    "provider_of",
    "pull_request_matches",
    "push_matches",
    "references",
    "resolve",
    "resolve_configuration",
    "resolve_start_variables",
    "scope",
    "source_actions_for_repository",
    "to_wire",
    "trigger_for",
    "validate",
    "with_defaults",
]
