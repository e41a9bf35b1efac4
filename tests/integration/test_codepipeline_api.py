"""The CodePipeline API through boto3's own `codepipeline` client and the AWS CLI, with
only the endpoint URL changed: definitions, executions, approvals, errors, authorization."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.client import BaseClient
from botocore.credentials import Credentials
from botocore.model import Shape

from gitserver.api.pipeline_ops import PLACEHOLDER_ROLE
from tests.api_support import REGION, error_code
from tests.pipeline_support import (
    access_key,
    approval_action,
    build_action,
    codepipeline,
    pipeline_server,
    push_files,
    source_stage,
    unique,
)
from tests.support import Git, Server, wait_until

ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/PipelineRole"
ECHO = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n"
SLOW = "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 30\n"
WAIT = {"TimeoutInMinutes": "10"}
AWS = str(Path(sys.executable).parent / "aws")


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[Path], str]
) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, database_factory)


@pytest.fixture(scope="module")
def admin_key(server: Server) -> dict[str, str]:
    return access_key(server, "cp-admin", "--admin")


def _missing(shape: Shape, value: Any, where: str) -> list[str]:
    """The members the output shape requires that `value` lacks, at any depth."""
    if shape.type_name == "structure" and isinstance(value, dict):
        found = [f"{where}.{n}" for n in shape.required_members if n not in value]
        for name, member in shape.members.items():
            if name in value:
                found += _missing(member, value[name], f"{where}.{name}")
        return found
    if shape.type_name == "list" and isinstance(value, list):
        return [m for i, item in enumerate(value) for m in _missing(shape.member, item, where)]
    return []


@pytest.fixture(scope="module")
def cp(server: Server, admin_key: dict[str, str]) -> BaseClient:
    """The admin's client; every answer holds every member botocore's model requires."""
    client = codepipeline(server, admin_key)

    def check(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if http_response.status_code == 200 and model.output_shape is not None:
            assert not _missing(model.output_shape, parsed, model.name)

    client.meta.events.register("after-call.codepipeline", check)
    return client


@pytest.fixture(scope="module")
def repo(server: Server, tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("cprepo")
    name = unique("cprepo")
    server.cli("repo", "create", name)
    push_files(Git(tmp / "home"), server, name, tmp / "work", {"README": "x"})
    return name


def _pipeline(repo: str, *stages: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": unique("cp"),
        "roleArn": ROLE,
        "stages": [source_stage(repo), *stages],
    }


def _build_stage(spec: str = ECHO) -> dict[str, Any]:
    return {"name": "Build", "actions": [build_action("Build", configuration={"BuildSpec": spec})]}


def _wait_status(cp: BaseClient, name: str, execution_id: str, wanted: set[str]) -> str:
    def status() -> str | None:
        found = cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
        value = str(found["pipelineExecution"]["status"])
        return value if value in wanted else None

    found = wait_until(status, 40, 0.2)
    assert found, cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
    return str(found)


def _strip(wire: dict[str, Any]) -> dict[str, Any]:
    """The definition without what GetPipeline writes in (version, defaults)."""
    return {k: wire[k] for k in ("name", "roleArn")} | {
        "stages": [
            {
                "name": s["name"],
                "actions": [{k: v for k, v in a.items() if k != "runOrder"} for a in s["actions"]],
            }
            for s in wire["stages"]
        ]
    }


def test_lifecycle_run_and_state(cp: BaseClient, repo: str) -> None:
    pipeline = _pipeline(repo, _build_stage())
    name = pipeline["name"]
    created = cp.create_pipeline(pipeline=pipeline)["pipeline"]
    assert created["version"] == 1
    got = cp.get_pipeline(name=name)
    assert _strip(got["pipeline"]) == pipeline
    assert got["pipeline"]["version"] == 1
    assert got["metadata"]["pipelineArn"] == f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{name}"
    assert got["metadata"]["created"] <= got["metadata"]["updated"]
    assert name in {p["name"] for p in cp.list_pipelines()["pipelines"]}

    updated = cp.update_pipeline(pipeline={**pipeline, "version": 1})["pipeline"]
    assert updated["version"] == 2
    assert cp.get_pipeline(name=name)["pipeline"]["version"] == 2

    execution_id = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    assert _wait_status(cp, name, execution_id, {"Succeeded", "Failed"}) == "Succeeded"
    execution = cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
    assert execution["pipelineExecution"]["pipelineVersion"] == 2
    summaries = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    # (The repository's first push may start one too, if the trigger consumer reads it
    # after the pipeline exists.)
    assert execution_id in [s["pipelineExecutionId"] for s in summaries]

    state = cp.get_pipeline_state(name=name)
    assert [s["stageName"] for s in state["stageStates"]] == ["Source", "Build"]
    assert all(s["latestExecution"]["status"] == "Succeeded" for s in state["stageStates"])
    details = cp.list_action_executions(
        pipelineName=name, filter={"pipelineExecutionId": execution_id}
    )["actionExecutionDetails"]
    build = [d for d in details if d["actionName"] == "Build"]
    assert build and build[0]["status"] == "Succeeded"
    assert build[0]["input"]["actionTypeId"]["provider"] == "CodeBuild"

    with pytest.raises(cp.exceptions.StageNotRetryableException):
        cp.retry_stage_execution(
            pipelineName=name,
            stageName="Build",
            pipelineExecutionId=execution_id,
            retryMode="FAILED_ACTIONS",
        )

    # Pages: one pipeline per page, the token carries on.
    first = cp.list_pipelines(maxResults=1)
    assert len(first["pipelines"]) == 1
    with pytest.raises(cp.exceptions.InvalidNextTokenException):
        cp.list_pipelines(nextToken="bm90LWEtdG9rZW4=")

    cp.delete_pipeline(name=name)
    with pytest.raises(cp.exceptions.PipelineNotFoundException):
        cp.get_pipeline(name=name)


def test_manual_approval_with_the_token_from_the_state(cp: BaseClient, repo: str) -> None:
    pipeline = _pipeline(
        repo,
        {"name": "Gate", "actions": [approval_action("Approve", configuration=WAIT)]},
    )
    name = pipeline["name"]
    cp.create_pipeline(pipeline=pipeline)
    execution_id = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]

    def token() -> str | None:
        stages = cp.get_pipeline_state(name=name)["stageStates"]
        gate = next(s for s in stages if s["stageName"] == "Gate")
        states = gate.get("actionStates") or [{}]
        return states[0].get("latestExecution", {}).get("token")

    found = wait_until(token, 30, 0.2)
    assert found
    result = {"summary": "looks good", "status": "Approved"}
    with pytest.raises(cp.exceptions.InvalidApprovalTokenException):
        cp.put_approval_result(
            pipelineName=name,
            stageName="Gate",
            actionName="Approve",
            result=result,
            token=str(uuid.uuid4()),
        )
    approved = cp.put_approval_result(
        pipelineName=name, stageName="Gate", actionName="Approve", result=result, token=found
    )
    assert approved["approvedAt"]
    assert _wait_status(cp, name, execution_id, {"Succeeded", "Failed"}) == "Succeeded"
    with pytest.raises(cp.exceptions.ApprovalAlreadyCompletedException):
        cp.put_approval_result(
            pipelineName=name, stageName="Gate", actionName="Approve", result=result, token=found
        )


def test_stop(cp: BaseClient, repo: str) -> None:
    pipeline = _pipeline(repo, _build_stage(SLOW))
    name = pipeline["name"]
    cp.create_pipeline(pipeline=pipeline)
    execution_id = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]

    def building() -> bool:
        stages = cp.get_pipeline_state(name=name)["stageStates"]
        build = next(s for s in stages if s["stageName"] == "Build")
        latest = build.get("latestExecution", {})
        return latest.get("pipelineExecutionId") == execution_id

    assert wait_until(building, 30, 0.2)
    stopped = cp.stop_pipeline_execution(
        pipelineName=name, pipelineExecutionId=execution_id, abandon=True, reason="enough"
    )
    assert stopped["pipelineExecutionId"] == execution_id
    assert _wait_status(cp, name, execution_id, {"Stopped"}) == "Stopped"
    with pytest.raises(cp.exceptions.PipelineExecutionNotStoppableException):
        cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
    # A stopped stage can run again; then it is stopped once more.
    retried = cp.retry_stage_execution(
        pipelineName=name,
        stageName="Build",
        pipelineExecutionId=execution_id,
        retryMode="ALL_ACTIONS",
    )
    assert retried["pipelineExecutionId"] == execution_id
    assert _wait_status(cp, name, execution_id, {"InProgress"}) == "InProgress"
    cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id, abandon=True)
    assert _wait_status(cp, name, execution_id, {"Stopped"}) == "Stopped"
    with pytest.raises(cp.exceptions.PipelineExecutionNotFoundException):
        cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=str(uuid.uuid4()))


def test_errors(cp: BaseClient, repo: str) -> None:
    with pytest.raises(cp.exceptions.PipelineNotFoundException):
        cp.get_pipeline(name="no-such-pipeline")
    with pytest.raises(cp.exceptions.PipelineNotFoundException):
        cp.start_pipeline_execution(name="no-such-pipeline")
    pipeline = _pipeline(repo, _build_stage())
    cp.create_pipeline(pipeline=pipeline)
    with pytest.raises(cp.exceptions.PipelineNameInUseException):
        cp.create_pipeline(pipeline=pipeline)
    # One stage only: a pipeline needs at least two.
    broken = {**pipeline, "name": unique("cp"), "stages": pipeline["stages"][:1]}
    with pytest.raises(cp.exceptions.InvalidStructureException) as caught:
        cp.create_pipeline(pipeline=broken)
    assert "stages" in caught.value.response["Error"]["Message"]
    bad_name = {**pipeline, "name": "no spaces allowed"}
    with pytest.raises(cp.exceptions.ValidationException):
        cp.create_pipeline(pipeline=bad_name)


def test_read_only_user(server: Server, cp: BaseClient, repo: str) -> None:
    pipeline = _pipeline(repo, _build_stage())
    cp.create_pipeline(pipeline=pipeline)
    reader = access_key(server, "cp-reader")
    server.cli("policy", "attach-user-policy", "cp-reader", "GitServerReadOnly")
    ro = codepipeline(server, reader)
    with pytest.raises(ro.exceptions.ClientError) as caught:
        ro.create_pipeline(pipeline={**pipeline, "name": unique("cp")})
    assert error_code(caught.value) == "AccessDeniedException"
    assert "codepipeline:CreatePipeline" in caught.value.response["Error"]["Message"]
    assert ro.get_pipeline(name=pipeline["name"])["pipeline"]["name"] == pipeline["name"]
    # Unknown and forbidden look alike to someone who may not start executions.
    for target in (pipeline["name"], "no-such-pipeline"):
        with pytest.raises(ro.exceptions.ClientError) as caught:
            ro.start_pipeline_execution(name=target)
        assert error_code(caught.value) == "AccessDeniedException"


def _signed(server: Server, key: dict[str, str], target: str, service: str) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    request = AWSRequest(
        method="POST",
        url=server.base_url + "/",
        data=b"{}",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    SigV4Auth(Credentials(key["AccessKeyId"], key["SecretAccessKey"]), service, REGION).add_auth(
        request
    )
    sent = urllib.request.Request(
        request.url, data=request.body, headers=dict(request.headers), method="POST"
    )
    try:
        with urllib.request.urlopen(sent, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_signature_must_be_for_the_targets_service(
    server: Server, admin_key: dict[str, str]
) -> None:
    pipelines = "CodePipeline_20150709.ListPipelines"
    repositories = "CodeCommit_20150413.ListRepositories"
    assert _signed(server, admin_key, pipelines, "codepipeline")[0] == 200
    assert _signed(server, admin_key, repositories, "codecommit")[0] == 200
    for target, service in ((pipelines, "codecommit"), (repositories, "codepipeline")):
        status, body = _signed(server, admin_key, target, service)
        assert (status, body["__type"]) == (400, "InvalidSignatureException"), body
        assert "scoped to correct service" in body["message"]


def test_role_arn_placeholder_for_a_pipeline_made_without_one(
    server: Server, cp: BaseClient, repo: str, tmp_path: Path
) -> None:
    pipeline = _pipeline(repo, _build_stage())
    del pipeline["roleArn"]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(pipeline))
    server.cli("pipeline", "create", "--file", str(path))
    got = cp.get_pipeline(name=pipeline["name"])["pipeline"]
    assert got["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{PLACEHOLDER_ROLE}"


def test_aws_cli_list_pipelines(
    server: Server, cp: BaseClient, admin_key: dict[str, str], repo: str, tmp_path: Path
) -> None:
    pipeline = _pipeline(repo, _build_stage())
    cp.create_pipeline(pipeline=pipeline)
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": admin_key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": admin_key["SecretAccessKey"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    argv = [AWS, "--endpoint-url", server.base_url, "--output", "json"]
    done = subprocess.run(
        [*argv, "codepipeline", "list-pipelines"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert pipeline["name"] in {p["name"] for p in json.loads(done.stdout)["pipelines"]}
