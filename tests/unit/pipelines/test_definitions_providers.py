"""The supported providers: anything else is refused naming them, and each provider's
configuration keys, values and artifact counts are checked with their paths."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from gitserver.pipelines.definitions import (
    DefinitionError,
    from_wire,
    problems,
    validate,
)
from gitserver.pipelines.definitions.errors import Kind
from gitserver.pipelines.definitions.providers import (
    APPROVAL_TIMEOUT_MINUTES,
    approval_timeout,
    output_variables,
    provider_of,
)
from gitserver.pipelines.definitions.settings import (
    BuildSpecRef,
    EnvironmentVariable,
    VariableType,
    buildspec,
    commands,
    environment_variables,
    hooks,
)
from tests.unit.pipelines.definition_examples import action_type, base

SOURCE = "stages[0].actions[0]"
BUILD = "stages[1].actions[0]"
DEPLOY = "stages[2].actions[0]"


def _with(stage: int, action: dict[str, Any]) -> dict[str, Any]:
    wire = base()
    wire["stages"][stage]["actions"].append(action)
    return wire


def _approval(**configuration: str) -> dict[str, Any]:
    return _with(
        2,
        {
            "name": "Approve",
            "actionTypeId": action_type("Approval", "AWS", "Manual"),
            "configuration": configuration,
        },
    )


def _webhook(**configuration: str) -> dict[str, Any]:
    return _with(
        2,
        {
            "name": "Notify",
            "actionTypeId": action_type("Invoke", "Custom", "Webhook"),
            "configuration": configuration,
        },
    )


def _edit(path: Callable[[dict[str, Any]], dict[str, Any]], **changes: Any) -> dict[str, Any]:
    wire = base()
    path(wire).update(changes)
    return wire


def _source(w: dict[str, Any]) -> dict[str, Any]:
    action: dict[str, Any] = w["stages"][0]["actions"][0]
    return action


def _build(w: dict[str, Any]) -> dict[str, Any]:
    action: dict[str, Any] = w["stages"][1]["actions"][0]
    return action


def _deploy(w: dict[str, Any]) -> dict[str, Any]:
    action: dict[str, Any] = w["stages"][2]["actions"][0]
    return action


def _config(path: Callable[[dict[str, Any]], dict[str, Any]], **values: str) -> dict[str, Any]:
    wire = base()
    action = path(wire)
    action["configuration"] = {**action.get("configuration", {}), **values}
    return wire


def _envs(value: object) -> str:
    return json.dumps(value)


CASES = [
    pytest.param(
        _edit(_build, actionTypeId=action_type("Build", "AWS", "Jenkins")),
        f'{BUILD}.actionTypeId.provider: "Jenkins" is not a supported Build provider '
        "(supported: CodeBuild)",
        id="unsupported-provider",
    ),
    pytest.param(
        _edit(_deploy, actionTypeId=action_type("Deploy", "AWS", "Script")),
        f"{DEPLOY}.actionTypeId.owner: Script actions have owner Custom",
        id="owner",
    ),
    pytest.param(
        _edit(_build, actionTypeId={**action_type("Build", "AWS", "CodeBuild"), "version": "2"}),
        f"{BUILD}.actionTypeId.version: CodeBuild is version 1",
        id="version",
    ),
    pytest.param(
        _config(_source, Branch="main"),
        f"{SOURCE}.configuration.Branch: unknown CodeCommit configuration key (known: "
        "RepositoryName, BranchName, PollForSourceChanges, OutputArtifactFormat)",
        id="unknown-key",
    ),
    # CodeCommit
    pytest.param(
        _edit(_source, configuration={"RepositoryName": "demo"}),
        f"{SOURCE}.configuration.BranchName: is required",
        id="codecommit-branch-required",
    ),
    pytest.param(
        _config(_source, RepositoryName="my repo"),
        f'{SOURCE}.configuration.RepositoryName: "my repo" is not a repository name',
        id="codecommit-repository-name",
    ),
    pytest.param(
        _config(_source, BranchName="feature..x"),
        f'{SOURCE}.configuration.BranchName: "feature..x" is not a valid branch name',
        id="codecommit-branch-name",
    ),
    pytest.param(
        _config(_source, PollForSourceChanges="no"),
        f'{SOURCE}.configuration.PollForSourceChanges: "no" must be true or false',
        id="codecommit-poll",
    ),
    pytest.param(
        _edit(_source, inputArtifacts=[{"name": "X"}]),
        f"{SOURCE}.inputArtifacts: CodeCommit takes 0, not 1",
        id="codecommit-no-inputs",
    ),
    pytest.param(
        _edit(_source, outputArtifacts=[{"name": "SourceOut"}, {"name": "More"}]),
        f"{SOURCE}.outputArtifacts: CodeCommit takes 1, not 2",
        id="codecommit-one-output",
    ),
    # CodeBuild
    pytest.param(
        _edit(_build, inputArtifacts=[]),
        f"{BUILD}.inputArtifacts: CodeBuild takes 1 to 5, not 0",
        id="codebuild-needs-input",
    ),
    pytest.param(
        _config(_build, EnvironmentVariables="[{name: x}]"),
        f"{BUILD}.configuration.EnvironmentVariables: is not JSON: Expecting property name "
        "enclosed in double quotes",
        id="env-not-json",
    ),
    pytest.param(
        _config(_build, EnvironmentVariables=_envs([{"name": "A", "value": "1", "type": "X"}])),
        f"{BUILD}.configuration.EnvironmentVariables: [0].type must be one of PLAINTEXT, "
        "SECRETS_MANAGER, PARAMETER_STORE",
        id="env-type",
    ),
    pytest.param(
        _config(_build, EnvironmentVariables=_envs([{"name": "CODEBUILD_X", "value": "1"}])),
        f"{BUILD}.configuration.EnvironmentVariables: [0].name: names starting with "
        "CODEBUILD_ are reserved",
        id="env-reserved",
    ),
    pytest.param(
        _config(_build, EnvironmentVariables=_envs([{"name": "A"}])),
        f"{BUILD}.configuration.EnvironmentVariables: [0].value must be a string",
        id="env-value",
    ),
    pytest.param(
        _config(_build, EnvironmentVariables=_envs({"A": "1"})),
        f"{BUILD}.configuration.EnvironmentVariables: must be a JSON array of "
        "{name, value, type} objects",
        id="env-array",
    ),
    pytest.param(
        _config(_build, BuildSpec="version: 0.2\nphases: [\n"),
        f"{BUILD}.configuration.BuildSpec: is not valid YAML",
        id="buildspec-yaml",
    ),
    pytest.param(
        _config(_build, BuildSpec="phases:\n  build: {}\n"),
        f"{BUILD}.configuration.BuildSpec: an inline buildspec must be a YAML mapping with "
        "a version",
        id="buildspec-version",
    ),
    pytest.param(
        _config(_build, BuildSpec="../outside.yml"),
        f'{BUILD}.configuration.BuildSpec: "../outside.yml" must be a relative path inside '
        "the source",
        id="buildspec-path",
    ),
    pytest.param(
        _config(_build, PrimarySource="Nope"),
        f'{BUILD}.configuration.PrimarySource: "Nope" is not an input artifact of this action',
        id="primary-source",
    ),
    pytest.param(
        _with(
            2,
            {
                "name": "Both",
                "actionTypeId": action_type("Test", "AWS", "CodeBuild"),
                "inputArtifacts": [{"name": "SourceOut"}, {"name": "BuildOut"}],
            },
        ),
        "stages[2].actions[1].configuration.PrimarySource: is required with more than one "
        "input artifact",
        id="primary-source-required",
    ),
    pytest.param(
        _config(_build, Network="bridge"),
        f'{BUILD}.configuration.Network: "bridge" must be one of none, host',
        id="network",
    ),
    pytest.param(
        _config(_build, TimeoutInMinutes="0"),
        f'{BUILD}.configuration.TimeoutInMinutes: "0" must be a whole number of minutes '
        "from 5 to 2160",
        id="build-timeout",
    ),
    # Manual
    pytest.param(
        _approval(TimeoutInMinutes="20000"),
        'stages[2].actions[1].configuration.TimeoutInMinutes: "20000" must be a whole number '
        "of minutes from 1 to 10080",
        id="approval-timeout",
    ),
    pytest.param(
        _approval(ExternalEntityLink="javascript:alert(1)"),
        'stages[2].actions[1].configuration.ExternalEntityLink: "javascript:alert(1)" must be '
        "an http or https URL",
        id="approval-link",
    ),
    pytest.param(
        _approval(CustomData="x" * 501),
        "stages[2].actions[1].configuration.CustomData: must be at most 500 characters long",
        id="approval-custom-data",
    ),
    # Webhook
    pytest.param(
        _webhook(),
        "stages[2].actions[1].configuration.Url: is required",
        id="webhook-url-required",
    ),
    pytest.param(
        _webhook(Url="ftp://example.com/hook"),
        'stages[2].actions[1].configuration.Url: "ftp://example.com/hook" must be an http or '
        "https URL",
        id="webhook-url",
    ),
    pytest.param(
        _webhook(Url="https://example.com/hook", Method="GET"),
        "stages[2].actions[1].configuration.Method: must be POST",
        id="webhook-method",
    ),
    # Script
    pytest.param(
        _edit(_deploy, configuration={}),
        f"{DEPLOY}.configuration: needs exactly one of Commands and BuildSpec in its configuration",
        id="script-needs-commands",
    ),
    pytest.param(
        _config(_deploy, BuildSpec="deploy.yml"),
        f"{DEPLOY}.configuration: needs exactly one of Commands and BuildSpec in its configuration",
        id="script-not-both",
    ),
    pytest.param(
        _edit(_deploy, configuration={"BuildSpec": "hooks:\n  Restart: [x]\n"}),
        f"{DEPLOY}.configuration.BuildSpec: unknown hooks Restart (known: BeforeInstall, "
        "Install, AfterInstall, ValidateService)",
        id="script-hooks",
    ),
    pytest.param(
        _config(_deploy, RollbackOnFailure="yes"),
        f'{DEPLOY}.configuration.RollbackOnFailure: "yes" must be true or false',
        id="script-rollback",
    ),
    pytest.param(
        _edit(_deploy, inputArtifacts=[]),
        f"{DEPLOY}.inputArtifacts: Script takes 1, not 0",
        id="script-one-input",
    ),
]


@pytest.mark.parametrize(("wire", "problem"), CASES)
def test_provider_rules_name_the_path_and_reason(wire: dict[str, Any], problem: str) -> None:
    found = [p for p in problems(from_wire(wire)) if str(p).startswith(problem)]
    assert [p.kind for p in found] == [Kind.ACTION], problems(from_wire(wire))
    with pytest.raises(DefinitionError):
        validate(from_wire(wire))


def test_every_supported_provider_validates() -> None:
    wire = _approval(
        CustomData="ship #{SourceVariables.CommitId}?",
        ExternalEntityLink="https://example.com",
        NotificationArn="arn:aws:sns:us-east-2:111111111111:approvals",
        TimeoutInMinutes="60",
    )
    wire["stages"][2]["actions"].append(
        {
            "name": "Notify",
            "actionTypeId": action_type("Invoke", "Custom", "Webhook"),
            "configuration": {"Url": "https://example.com/hook", "Secret": "s", "Method": "POST"},
        }
    )
    _deploy(wire)["configuration"] = {
        "BuildSpec": "hooks:\n  Install: [make install]\n  BeforeInstall: [make stop]\n",
        "RollbackOnFailure": "true",
    }
    _source(wire)["configuration"].update(PollForSourceChanges="FALSE")
    _build(wire)["configuration"] = {
        "ProjectName": "demo-build",
        "BuildSpec": "version: 0.2\nphases:\n  build:\n    commands: [make]\n",
        "EnvironmentVariables": _envs([{"name": "A", "value": "1", "type": "SECRETS_MANAGER"}]),
        "PrimarySource": "SourceOut",
        "Network": "host",
        "TimeoutInMinutes": "30",
    }
    definition = validate(from_wire(wire))
    providers = {a.name: provider_of(a) for _, _, _, a in definition.actions()}
    assert {n: p.name for n, p in providers.items() if p} == {
        "Source": "CodeCommit",
        "Build": "CodeBuild",
        "Test": "CodeBuild",
        "Deploy": "Script",
        "Approve": "Manual",
        "Notify": "Webhook",
    }
    approval = definition.action("Deploy", "Approve")
    assert approval is not None and approval_timeout(approval) == 60


def test_readings_for_the_engine() -> None:
    assert environment_variables('[{"name": "A", "value": "1"}]') == (
        EnvironmentVariable("A", "1", VariableType.PLAINTEXT),
    )
    assert buildspec("./ci//build.yml") == BuildSpecRef(inline=False, text="ci/build.yml")
    assert buildspec("{version: 0.2}").inline
    assert commands("make\n\n  make test  \n") == ("make", "make test")
    assert hooks("hooks:\n  ValidateService: [curl x]\n  BeforeInstall: [stop]\n") == (
        ("BeforeInstall", ("stop",)),
        ("ValidateService", ("curl x",)),
    )
    definition = from_wire(base())
    source, build = definition.stages[0].actions[0], definition.stages[1].actions[0]
    assert output_variables(source) == (
        "AuthorDate", "BranchName", "CommitId", "CommitMessage", "CommitterDate", "RepositoryName",
    )  # fmt: skip
    assert output_variables(build) is None, "a build exports what its buildspec says"
    approval = from_wire(_approval()).stages[2].actions[1]
    assert approval_timeout(approval) == APPROVAL_TIMEOUT_MINUTES == 7 * 24 * 60
