"""Variables: references checked against the namespaces that run before, resolved when
an action starts, and pipeline variables overridden at start."""

from __future__ import annotations

from typing import Any

import pytest

from gitserver.pipelines.definitions import (
    PipelineValidation,
    UnresolvedVariable,
    from_wire,
    problems,
    references,
    resolve,
    resolve_configuration,
    resolve_start_variables,
    scope,
    validate,
)
from tests.unit.pipelines.definition_examples import V2_PIPELINE, base

BUILD_CONFIG = "stages[1].actions[0].configuration"


def _refer(text: str, *, stage: int = 1, action: int = 0) -> dict[str, Any]:
    wire = base()
    wire["stages"][stage]["actions"][action].setdefault("configuration", {})["ProjectName"] = text
    return wire


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param(
            "#{BuildVariables.X}",
            "#{BuildVariables.X}: no earlier action has the namespace BuildVariables",
            id="own-namespace",
        ),
        pytest.param(
            "#{Nowhere.X}",
            "#{Nowhere.X}: no earlier action has the namespace Nowhere",
            id="unknown",
        ),
        pytest.param(
            "#{variables.Region}",
            "#{variables.Region}: no pipeline variable Region is declared",
            id="undeclared",
        ),
        pytest.param(
            "#{codepipeline.PipelineName}",
            "#{codepipeline.PipelineName}: the codepipeline namespace has only PipelineExecutionId",
            id="codepipeline",
        ),
        pytest.param(
            "#{SourceVariables.Sha}",
            "#{SourceVariables.Sha}: SourceVariables has only AuthorDate, BranchName, CommitId, "
            "CommitMessage, CommitterDate, RepositoryName",
            id="codecommit-keys",
        ),
        pytest.param("#{CommitId}", "#{CommitId} is not of the form #{namespace.key}", id="form"),
    ],
)
def test_references_must_name_what_runs_before(text: str, reason: str) -> None:
    found = [str(p) for p in problems(from_wire(_refer(f"build-{text}")))]
    assert found == [f"{BUILD_CONFIG}.ProjectName: {reason}"]


def test_a_later_run_order_in_the_same_stage_sees_the_namespace() -> None:
    wire = _refer("#{BuildVariables.Version}", stage=1, action=1)
    wire["stages"][1]["actions"][1]["configuration"].pop("BuildSpec")
    validate(from_wire(wire))
    same_order = _refer("#{BuildVariables.Version}", stage=1, action=1)
    same_order["stages"][1]["actions"][1]["runOrder"] = 1
    same_order["stages"][1]["actions"][1]["inputArtifacts"] = [{"name": "SourceOut"}]
    assert [p.reason for p in problems(from_wire(same_order))] == [
        "#{BuildVariables.Version}: no earlier action has the namespace BuildVariables"
    ]


def test_resolve_replaces_every_reference() -> None:
    values = scope(
        execution_id="e-1",
        variables={"Env": "prod"},
        namespaces={"SourceVariables": {"CommitId": "abc"}},
    )
    text = "#{codepipeline.PipelineExecutionId}/#{variables.Env}/#{SourceVariables.CommitId}#{x"
    assert resolve(text, values) == "e-1/prod/abc#{x"
    assert references(text) == (
        ("codepipeline", "PipelineExecutionId"),
        ("variables", "Env"),
        ("SourceVariables", "CommitId"),
    )


def test_resolve_names_every_unknown_reference() -> None:
    values = scope(execution_id="e-1", variables={})
    with pytest.raises(UnresolvedVariable) as caught:
        resolve("#{variables.Env} #{Build.Out} #{oops}", values)
    assert str(caught.value) == (
        "#{variables.Env}: namespace variables has no variable Env; "
        "#{Build.Out}: no namespace Build; "
        "#{oops} is not of the form #{namespace.key}"
    )


def test_resolve_configuration_of_an_action() -> None:
    definition = validate(from_wire(base()))
    deploy = definition.stages[2].actions[0]
    values = scope(execution_id="e", variables=resolve_start_variables(definition))
    assert resolve_configuration(deploy, values) == {"Commands": "./deploy.sh staging"}


def test_start_variables_take_defaults_and_overrides() -> None:
    definition = from_wire(V2_PIPELINE)
    assert resolve_start_variables(definition, {"Region": "eu-west-1"}) == {
        "Stage": "beta",
        "Region": "eu-west-1",
    }
    assert resolve_start_variables(definition, {"Region": "x", "Stage": "prod"})["Stage"] == "prod"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"Region": "x", "Colour": "red"},
            "variable Colour is not declared in the pipeline (declared: Region, Stage)",
            id="undeclared",
        ),
        pytest.param({}, "variable Region has no default value and none was given", id="missing"),
        pytest.param(
            {"Region": ""},
            "variable Region: the value must be 1 to 1000 characters long",
            id="empty",
        ),
        pytest.param(
            {"Region": "x" * 1001},
            "variable Region: the value must be 1 to 1000 characters long",
            id="long",
        ),
    ],
)
def test_start_variables_refuse(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(PipelineValidation) as caught:
        resolve_start_variables(from_wire(V2_PIPELINE), overrides)
    assert message in str(caught.value)
    assert caught.value.aws_type == "ValidationException"


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        pytest.param(
            [{"name": "a b"}], "variables[0].name: must match [A-Za-z0-9@\\-_]+", id="name"
        ),
        pytest.param(
            [{"name": "A"}, {"name": "A"}], 'variables[1].name: "A" is declared twice', id="twice"
        ),
        pytest.param(
            [{"name": "A", "defaultValue": ""}],
            "variables[0].defaultValue: must be 1 to 1000 characters long",
            id="default",
        ),
        pytest.param(
            [{"name": "A", "description": "d" * 201}],
            "variables[0].description: must be at most 200 characters long",
            id="description",
        ),
        pytest.param(
            [{"name": f"V{i}"} for i in range(51)], "variables: at most 50 variables", id="count"
        ),
    ],
)
def test_variable_declarations(variables: list[dict[str, str]], problem: str) -> None:
    wire = base()
    wire["variables"] = variables
    wire["stages"][2]["actions"][0]["configuration"]["Commands"] = "./deploy.sh"
    assert [str(p) for p in problems(from_wire(wire))] == [problem]
