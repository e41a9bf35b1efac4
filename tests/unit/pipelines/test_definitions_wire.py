"""Pipeline files and the wire shape: JSON and YAML in, botocore's PipelineDeclaration
out, unchanged by the round trip and accepted by botocore's own CreatePipeline check."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.validate import ParamValidator

from gitserver.pipelines.definitions import (
    Category,
    DefinitionError,
    ExecutionMode,
    InvalidActionDeclaration,
    InvalidStageDeclaration,
    InvalidStructure,
    PipelineType,
    from_wire,
    load_document,
    parse_pipeline,
    to_wire,
    validate,
    with_defaults,
)
from tests.unit.pipelines.definition_examples import GET_PIPELINE_OUTPUT, ROLE, V2_PIPELINE, base


def _create_pipeline_errors(declaration: dict[str, Any]) -> str:
    model = botocore.session.get_session().get_service_model("codepipeline")
    shape = model.operation_model("CreatePipeline").input_shape
    return ParamValidator().validate({"pipeline": declaration}, shape).generate_report()


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(GET_PIPELINE_OUTPUT["pipeline"], id="get-pipeline-v1"),
        pytest.param(V2_PIPELINE, id="v2-variables-triggers"),
        pytest.param({**base(), "roleArn": ROLE}, id="base"),
    ],
)
def test_the_round_trip_gives_back_the_same_declaration(wire: dict[str, Any]) -> None:
    kept = copy.deepcopy(wire)
    assert to_wire(from_wire(wire)) == kept
    assert wire == kept, "from_wire does not change its argument"
    assert _create_pipeline_errors(to_wire(from_wire(wire))) == ""


def test_aws_examples_with_supported_providers_validate() -> None:
    definition = validate(from_wire(V2_PIPELINE))
    assert definition.effective_execution_mode is ExecutionMode.QUEUED
    assert [a.name for a in definition.source_actions()] == ["Source"]


def test_botocore_itself_refuses_what_to_wire_never_gives() -> None:
    wire = to_wire(from_wire(base()))
    assert "roleArn" in _create_pipeline_errors(wire), "the file had no roleArn"
    assert _create_pipeline_errors({**wire, "roleArn": ROLE}) == ""


def test_get_pipeline_output_is_unwrapped_and_its_metadata_ignored() -> None:
    text = json.dumps(GET_PIPELINE_OUTPUT)
    assert load_document(text, filename=None) == GET_PIPELINE_OUTPUT["pipeline"]
    with pytest.raises(InvalidActionDeclaration, match=r"S3.*not a supported Source provider"):
        parse_pipeline(text, filename="pipeline.json")


@pytest.mark.parametrize("filename", ["p.yaml", "p.YML", None, "pipeline"])
def test_yaml_and_json_files_give_the_same_definition(filename: str | None) -> None:
    wire = {"pipeline": base()}
    from_yaml = parse_pipeline(yaml.safe_dump(wire), filename=filename)
    from_json = parse_pipeline(json.dumps(wire, indent=2), filename="p.json")
    assert from_yaml == from_json
    assert to_wire(from_json) == base()


def test_yaml_scalars_become_the_wire_strings() -> None:
    text = """
name: demo
stages:
  - name: Source
    actions:
      - name: Source
        actionTypeId: {category: Source, owner: AWS, provider: CodeCommit, version: 1}
        configuration: {RepositoryName: demo, BranchName: main, PollForSourceChanges: false}
        outputArtifacts: [{name: Out}]
        region:
  - name: Approve
    actions:
      - name: Approve
        actionTypeId: {category: Approval, owner: AWS, provider: Manual, version: 1}
        configuration: {TimeoutInMinutes: 60}
"""
    definition = parse_pipeline(text, filename="p.yml")
    source = definition.stages[0].actions[0]
    assert source.action_type_id.version == "1"
    assert source.configuration["PollForSourceChanges"] == "false"
    assert source.region is None, "a YAML null is left out"
    assert definition.stages[1].actions[0].configuration == {"TimeoutInMinutes": "60"}
    assert definition.stages[1].actions[0].category is Category.APPROVAL
    assert definition.effective_pipeline_type is PipelineType.V1
    assert definition.effective_execution_mode is ExecutionMode.SUPERSEDED


@pytest.mark.parametrize(
    ("text", "filename", "reason"),
    [
        pytest.param("{nope", "p.json", "not valid JSON: line 1 column 2", id="json"),
        pytest.param("a: [1", "p.yaml", "not valid YAML: line ", id="yaml"),
        pytest.param("- 1\n- 2\n", None, "holds an object, not array", id="not-object"),
        pytest.param('{"pipeline": 3}', None, "pipeline: must be an object", id="wrapper"),
        pytest.param(
            "a: &x [1, 2]\nb: [*x, *x]\n", "p.yaml", "aliases (*name) are not accepted", id="alias"
        ),
        pytest.param("x" * (1024 * 1024 + 1), None, "at most 1048576 characters", id="size"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(
    text: str, filename: str | None, reason: str
) -> None:
    with pytest.raises(InvalidStructure) as caught:
        parse_pipeline(text, filename=filename)
    assert reason in str(caught.value)
    assert caught.value.aws_type == "InvalidStructureException"


def _shape_problems(wire: dict[str, Any]) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        from_wire(wire)
    return [str(p) for p in caught.value.problems]


def test_shape_problems_are_all_reported_with_their_paths() -> None:
    wire = base()
    wire["stages"][0]["actions"][0]["runOrder"] = "1"
    wire["stages"][1]["actions"][0]["actionTypeId"]["category"] = "Compute"
    wire["stages"][1]["actions"][1]["configuration"]["BuildSpec"] = {"version": 0.2}
    wire["stages"][2]["colour"] = "blue"
    wire["executionMode"] = "FAST"
    del wire["name"]
    assert _shape_problems(wire) == [
        "name: is required",
        "stages[0].actions[0].runOrder: must be an integer, not string",
        'stages[1].actions[0].actionTypeId.category: "Compute" is not one of Source, Build, '
        "Test, Deploy, Approval, Invoke",
        "stages[1].actions[1].configuration.BuildSpec: must be a string, not object",
        "stages[2].colour: unknown field (expected one of actions, name)",
        'executionMode: "FAST" is not one of SUPERSEDED, QUEUED, PARALLEL',
    ]


@pytest.mark.parametrize(
    ("edit", "error", "path"),
    [
        pytest.param(
            lambda w: w["stages"][0].update(blockers=[]),
            InvalidStageDeclaration,
            "stages[0].blockers: is not supported by this server",
            id="blockers",
        ),
        pytest.param(
            lambda w: w["stages"][1].update(onFailure={"result": "RETRY"}),
            InvalidStageDeclaration,
            "stages[1].onFailure: is not supported by this server",
            id="conditions",
        ),
        pytest.param(
            lambda w: w["stages"][1]["actions"][0].update(commands=["make"]),
            InvalidActionDeclaration,
            "stages[1].actions[0].commands: is not supported by this server",
            id="commands",
        ),
        pytest.param(
            lambda w: w["stages"][1]["actions"][0]["outputArtifacts"][0].update(files=["a"]),
            InvalidActionDeclaration,
            "stages[1].actions[0].outputArtifacts[0].files: is not supported by this server",
            id="files",
        ),
        pytest.param(
            lambda w: w.update(stages={}),
            InvalidStructure,
            "stages: must be an array, not object",
            id="stages-object",
        ),
        pytest.param(
            lambda w: w.update(triggers=[{"providerType": "CodeStarSourceConnection"}]),
            InvalidStructure,
            "triggers[0].gitConfiguration: is required",
            id="trigger-config",
        ),
        pytest.param(
            lambda w: w.update(artifactStore="s3"),
            InvalidStructure,
            "artifactStore: must be an object",
            id="artifact-store",
        ),
    ],
)
def test_fields_this_server_does_not_run_are_refused(
    edit: Any, error: type[DefinitionError], path: str
) -> None:
    wire = base()
    edit(wire)
    with pytest.raises(error) as caught:
        from_wire(wire)
    assert path in [str(p) for p in caught.value.problems]


def test_empty_lists_written_out_stay_written_out() -> None:
    wire = base()
    wire["triggers"] = []
    wire["stages"][1]["actions"][0]["configuration"] = {}
    definition = from_wire(wire)
    assert definition.triggers == ()
    assert to_wire(definition) == wire
    assert definition == from_wire(base() | {"triggers": []})


def test_many_problems_are_counted_in_the_message() -> None:
    wire = base()
    wire["stages"] = [{"name": 1, "actions": "x"} for _ in range(8)]
    with pytest.raises(InvalidStageDeclaration) as caught:
        from_wire(wire)
    assert len(caught.value.problems) == 16
    assert str(caught.value).endswith("... and 6 more")


def test_the_documented_example_pipeline_is_valid() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "pipelines.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    definition = parse_pipeline(example, filename="pipeline.yaml")
    assert [s.name for s in definition.stages] == ["Source", "Build", "Release"]
    assert _create_pipeline_errors({**to_wire(definition), "roleArn": ROLE}) == ""


def test_with_defaults_writes_in_what_get_pipeline_shows() -> None:
    wire = to_wire(with_defaults(from_wire(base())))
    assert (wire["executionMode"], wire["pipelineType"]) == ("SUPERSEDED", "V2")
    orders = [a["runOrder"] for s in wire["stages"] for a in s["actions"]]
    assert orders == [1, 1, 2, 1]
    assert from_wire(wire) == with_defaults(from_wire(base()))
