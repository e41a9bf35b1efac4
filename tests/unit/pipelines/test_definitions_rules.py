"""The rules of a pipeline's structure: each broken in one place of a valid pipeline,
reported with its JSON path and reason, as the class CodePipeline names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gitserver.pipelines.definitions import (
    DefinitionError,
    InvalidActionDeclaration,
    InvalidStageDeclaration,
    InvalidStructure,
    PipelineValidation,
    from_wire,
    problems,
    validate,
)
from tests.unit.pipelines.definition_examples import action_type, base

Edit = Callable[[dict[str, Any]], object]


def _source_stage(name: str = "More") -> dict[str, Any]:
    return {
        "name": name,
        "actions": [
            {
                "name": "Other",
                "actionTypeId": action_type("Source", "AWS", "CodeCommit"),
                "configuration": {"RepositoryName": "other", "BranchName": "main"},
                "outputArtifacts": [{"name": "OtherOut"}],
            }
        ],
    }


def _build(w: dict[str, Any]) -> dict[str, Any]:
    action: dict[str, Any] = w["stages"][1]["actions"][0]
    return action


def _test(w: dict[str, Any]) -> dict[str, Any]:
    action: dict[str, Any] = w["stages"][1]["actions"][1]
    return action


def _push(w: dict[str, Any], *filters: dict[str, Any]) -> None:
    w["triggers"] = [
        {
            "providerType": "CodeStarSourceConnection",
            "gitConfiguration": {"sourceActionName": "Source", "push": list(filters)},
        }
    ]


RULES = [
    # stages
    pytest.param(
        lambda w: w.update(stages=w["stages"][:1]),
        InvalidStructure,
        "stages: a pipeline needs at least 2 stages, not 1",
        id="two-stages",
    ),
    pytest.param(
        lambda w: w["stages"][0]["actions"].append(_build(w)),
        InvalidStageDeclaration,
        "stages[0].actions[1].actionTypeId.category: the first stage holds only Source "
        "actions, not Build",
        id="first-stage-only-source",
    ),
    pytest.param(
        lambda w: w["stages"].append(_source_stage()),
        InvalidStageDeclaration,
        "stages[3].actions[0].actionTypeId.category: Source actions belong in the first stage only",
        id="source-only-first",
    ),
    pytest.param(
        lambda w: w.update(stages=[w["stages"][0], _source_stage()]),
        InvalidStructure,
        "stages: a pipeline needs at least one non-Source action",
        id="a-non-source-action",
    ),
    pytest.param(
        lambda w: w["stages"][2].update(name="Build"),
        InvalidStageDeclaration,
        'stages[2].name: "Build" is also the name of stages[1]',
        id="unique-stage-names",
    ),
    pytest.param(
        lambda w: w["stages"][2].update(actions=[]),
        InvalidStageDeclaration,
        "stages[2].actions: a stage needs at least one action",
        id="stage-needs-actions",
    ),
    # actions
    pytest.param(
        lambda w: _test(w).update(name="Build"),
        InvalidActionDeclaration,
        'stages[1].actions[1].name: "Build" is also the name of stages[1].actions[0]',
        id="unique-action-names",
    ),
    pytest.param(
        lambda w: _test(w).update(runOrder=0),
        InvalidActionDeclaration,
        "stages[1].actions[1].runOrder: must be 1 to 999",
        id="run-order-min",
    ),
    pytest.param(
        lambda w: _test(w).update(runOrder=1000),
        InvalidActionDeclaration,
        "stages[1].actions[1].runOrder: must be 1 to 999",
        id="run-order-max",
    ),
    # artifacts
    pytest.param(
        lambda w: _test(w).update(runOrder=1),
        InvalidStructure,
        'stages[1].actions[1].inputArtifacts[0].name: "BuildOut" is not an output of an '
        "earlier action",
        id="input-same-run-order",
    ),
    pytest.param(
        lambda w: _build(w).update(inputArtifacts=[{"name": "BuildOut"}]),
        InvalidStructure,
        'stages[1].actions[0].inputArtifacts[0].name: "BuildOut" is not an output of an '
        "earlier action",
        id="input-own-output",
    ),
    pytest.param(
        lambda w: w["stages"][2]["actions"][0].update(inputArtifacts=[{"name": "Nope"}]),
        InvalidStructure,
        'stages[2].actions[0].inputArtifacts[0].name: "Nope" is not the output of any action',
        id="input-unknown",
    ),
    pytest.param(
        lambda w: _test(w).update(inputArtifacts=[{"name": "BuildOut"}, {"name": "BuildOut"}]),
        InvalidStructure,
        'stages[1].actions[1].inputArtifacts[1].name: "BuildOut" is already an input',
        id="input-twice",
    ),
    pytest.param(
        lambda w: _test(w).update(outputArtifacts=[{"name": "SourceOut"}]),
        InvalidStructure,
        'stages[1].actions[1].outputArtifacts[0].name: "SourceOut" is already an output of '
        "stages[0].actions[0]",
        id="unique-outputs",
    ),
    # namespaces
    pytest.param(
        lambda w: _build(w).update(namespace="SourceVariables"),
        InvalidStructure,
        'stages[1].actions[0].namespace: "SourceVariables" is also the namespace of '
        "stages[0].actions[0]",
        id="unique-namespaces",
    ),
    pytest.param(
        lambda w: _build(w).update(namespace="SourceOut"),
        InvalidStructure,
        'stages[1].actions[0].namespace: "SourceOut" is also an artifact name',
        id="namespace-not-artifact",
    ),
    pytest.param(
        lambda w: _build(w).update(namespace="codepipeline"),
        InvalidStructure,
        'stages[1].actions[0].namespace: "codepipeline" is reserved',
        id="namespace-reserved",
    ),
    # execution mode, pipeline type
    pytest.param(
        lambda w: w.update(executionMode="PARALLEL", pipelineType="V1", variables=[]),
        InvalidStructure,
        "executionMode: PARALLEL needs pipelineType V2",
        id="parallel-needs-v2",
    ),
    pytest.param(
        lambda w: w.update(executionMode="QUEUED", pipelineType=None, variables=[]),
        InvalidStructure,
        "executionMode: QUEUED needs pipelineType V2",
        id="queued-needs-v2",
    ),
    pytest.param(
        lambda w: w.update(pipelineType="V1"),
        InvalidStructure,
        "variables: pipeline variables need pipelineType V2",
        id="variables-need-v2",
    ),
    # names and lengths (botocore's patterns)
    pytest.param(
        lambda w: w.update(name="my pipeline"),
        PipelineValidation,
        'name: "my pipeline" must match [A-Za-z0-9.@\\-_]+',
        id="pipeline-name",
    ),
    pytest.param(
        lambda w: w["stages"][2].update(name="D" * 101),
        PipelineValidation,
        "stages[2].name: must be 1 to 100 characters long",
        id="stage-name-length",
    ),
    pytest.param(
        lambda w: _test(w).update(name="unit tests"),
        PipelineValidation,
        'stages[1].actions[1].name: "unit tests" must match [A-Za-z0-9.@\\-_]+',
        id="action-name",
    ),
    pytest.param(
        lambda w: _build(w).update(outputArtifacts=[{"name": "build.out"}]),
        PipelineValidation,
        'stages[1].actions[0].outputArtifacts[0].name: "build.out" must match [a-zA-Z0-9_\\-]+',
        id="artifact-name",
    ),
    pytest.param(
        lambda w: _build(w).update(namespace="Build.Vars"),
        PipelineValidation,
        'stages[1].actions[0].namespace: "Build.Vars" must match [A-Za-z0-9@\\-_]+',
        id="namespace-name",
    ),
    pytest.param(
        lambda w: _build(w)["actionTypeId"].update(version="1.0"),
        PipelineValidation,
        'stages[1].actions[0].actionTypeId.version: "1.0" must match [0-9A-Za-z_-]+',
        id="type-version",
    ),
    pytest.param(
        lambda w: _test(w)["configuration"].update(BuildSpec=""),
        PipelineValidation,
        "stages[1].actions[1].configuration.BuildSpec: must be 1 to 1000 characters long",
        id="configuration-value-min",
    ),
    pytest.param(
        lambda w: _test(w)["configuration"].update(BuildSpec="x/" * 501),
        PipelineValidation,
        "stages[1].actions[1].configuration.BuildSpec: must be 1 to 1000 characters long",
        id="configuration-value-max",
    ),
    pytest.param(
        lambda w: _test(w).update(timeoutInMinutes=4),
        PipelineValidation,
        "stages[1].actions[1].timeoutInMinutes: must be 5 to 86400",
        id="action-timeout",
    ),
    pytest.param(
        lambda w: w.update(version=0),
        PipelineValidation,
        "version: must be 1 or more",
        id="version",
    ),
    # triggers
    pytest.param(
        lambda w: _push(w, *({"branches": {"includes": [f"b{i}"]}} for i in range(4))),
        InvalidStructure,
        "triggers[0].gitConfiguration.push: must hold 1 to 3 filters, not 4",
        id="push-filters-max",
    ),
    pytest.param(
        lambda w: _push(w, {"branches": {"includes": [f"b{i}" for i in range(9)]}}),
        InvalidStructure,
        "triggers[0].gitConfiguration.push[0].branches.includes: must hold 1 to 8 patterns, not 9",
        id="patterns-max",
    ),
    pytest.param(
        lambda w: _push(w, {"filePaths": {"excludes": []}}),
        InvalidStructure,
        "triggers[0].gitConfiguration.push[0].filePaths.excludes: must hold 1 to 8 patterns, not 0",
        id="patterns-min",
    ),
    pytest.param(
        lambda w: _push(w, {"tags": {"includes": ["v*"]}, "branches": {"includes": ["main"]}}),
        InvalidStructure,
        "triggers[0].gitConfiguration.push[0]: tags cannot be combined with branches or filePaths",
        id="tags-alone",
    ),
    pytest.param(
        lambda w: _push(w, {"branches": {}}),
        InvalidStructure,
        "triggers[0].gitConfiguration.push[0].branches: needs includes or excludes",
        id="criteria-empty",
    ),
    pytest.param(
        lambda w: (
            _push(w, {"tags": {"includes": ["v*"]}}),
            w["triggers"].append(w["triggers"][0]),
        ),
        InvalidStructure,
        'triggers[1].gitConfiguration.sourceActionName: "Source" already has a trigger',
        id="one-trigger-per-source",
    ),
    pytest.param(
        lambda w: (
            _push(w, {"tags": {"includes": ["v*"]}}),
            w["triggers"][0]["gitConfiguration"].update(sourceActionName="Build"),
        ),
        InvalidStructure,
        'triggers[0].gitConfiguration.sourceActionName: "Build" is not the name of a source action',
        id="trigger-source-action",
    ),
    pytest.param(
        lambda w: (
            _push(w, {"tags": {"includes": ["v*"]}}),
            w["triggers"][0]["gitConfiguration"].update(pullRequest=[{"events": ["OPEN", "OPEN"]}]),
        ),
        InvalidStructure,
        "triggers[0].gitConfiguration.pullRequest[0].events: must list 1 to 3 different "
        "events of OPEN, UPDATED, CLOSED",
        id="events-unique",
    ),
    pytest.param(
        lambda w: (_push(w, {"tags": {"includes": ["v*"]}}), w.update(pipelineType="V1")),
        InvalidStructure,
        "triggers: triggers need pipelineType V2",
        id="triggers-need-v2",
    ),
    pytest.param(
        lambda w: _push(w, {"branches": {"includes": ["x" * 256]}}),
        PipelineValidation,
        "triggers[0].gitConfiguration.push[0].branches.includes[0]: must be 1 to 255 "
        "characters long",
        id="pattern-length",
    ),
]


@pytest.mark.parametrize(("edit", "error", "problem"), RULES)
def test_each_rule_names_its_path_and_reason(
    edit: Edit, error: type[DefinitionError], problem: str
) -> None:
    wire = base()
    edit(wire)
    found = [str(p) for p in problems(from_wire(wire))]
    assert problem in found
    with pytest.raises(error) as caught:
        validate(from_wire(wire))
    assert caught.value.aws_type == error.aws_type
    assert str(caught.value.problems[0]) == found[0]


def test_the_base_pipeline_is_valid() -> None:
    assert problems(from_wire(base())) == ()


def test_run_orders_gaps_and_parallel_actions_are_fine() -> None:
    wire = base()
    _test(wire)["runOrder"] = 7
    extra = {**_test(wire), "name": "Lint", "configuration": {}}
    wire["stages"][1]["actions"].append(extra)
    definition = validate(from_wire(wire))
    runs = definition.stages[1].runs()
    assert [(order, [a.name for a in group]) for order, group in runs] == [
        (1, ["Build"]),
        (7, ["Test", "Lint"]),
    ]


def test_an_action_name_may_repeat_in_another_stage() -> None:
    wire = base()
    wire["stages"][2]["actions"][0]["name"] = "Build"
    validate(from_wire(wire))


def test_every_problem_is_collected_not_just_the_first() -> None:
    wire = base()
    wire["name"] = "bad name"
    wire["stages"][2]["name"] = "Build"
    _test(wire)["runOrder"] = 1
    with pytest.raises(PipelineValidation) as caught:
        validate(from_wire(wire))
    assert [p.path for p in caught.value.problems] == [
        "name",
        "stages[2].name",
        "stages[1].actions[1].inputArtifacts[0].name",
    ]
    assert str(caught.value).startswith('name: "bad name" must match')
