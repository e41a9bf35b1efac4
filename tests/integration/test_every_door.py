"""No front-end action is reachable without the authorizer: every git route and SSH
service, driven by a user who holds no policy, is refused with AWS's words.

The API's operations are enumerated the same way in test_api_protocol.py
(`test_every_operation_is_authorized`).
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitserver.transport.engine import SERVICES
from gitserver.transport.http import GitHttp
from tests.support import Server, SshIdentity, basic_auth, http_request

PASSWORD = "no-policy-password-3kq"


@pytest.fixture(scope="session")
def nobody(server: Server) -> str:
    name = f"nobody-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    return name


def _http_doors(repo: str) -> list[tuple[str, str, dict[str, str]]]:
    """Every route GitHttp registers, as concrete requests for `repo`."""
    routes: Any = GitHttp.routes(GitHttp.__new__(GitHttp))
    doors = []
    for route in routes:
        path = re.sub(r"\{name:[^}]*\}", f"{repo}.git", route.path).replace("{name}", repo)
        if path.endswith("/info/refs"):
            for service in ("git-upload-pack", "git-receive-pack"):
                doors.append((route.method, f"{path}?service={service}", {}))
        else:
            service = path.rsplit("/", 1)[1]
            doors.append((route.method, path, {"Content-Type": f"application/x-{service}-request"}))
    return doors


def test_every_http_git_route_asks_the_authorizer(
    server: Server, repo: Callable[..., str], nobody: str
) -> None:
    name = repo("door")
    doors = _http_doors(name)
    assert len(doors) == 8  # info/refs x2 services, upload-pack, receive-pack; two URL forms
    for method, path, headers in doors:
        status, _, body = http_request(
            server,
            method,
            path,
            body=b"0000",
            headers={**headers, "Authorization": basic_auth(nobody, PASSWORD)},
        )
        assert status == 403, (method, path, status, body[:200])
        assert b"is not authorized to perform: codecommit:Git" in body, (path, body[:200])


def test_every_ssh_service_asks_the_authorizer(
    server: Server, repo: Callable[..., str], nobody: str, tmp_path: Path
) -> None:
    name = repo("door-ssh")
    identity = SshIdentity.generate(tmp_path, server.known_hosts(tmp_path / "known_hosts"))
    identity.register(server, nobody)
    for service in SERVICES:
        result = subprocess.run(
            [
                *identity.argv(),
                "-p",
                str(server.ssh_port),
                f"{nobody}@127.0.0.1",
                f"{service} '/v1/repos/{name}'",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert result.returncode != 0, service
        assert "is not authorized to perform: codecommit:Git" in result.stderr, (
            service,
            result.stderr,
        )


_UUID = "0b6a3c6e-1f0e-4d5b-9a55-7c1d2e3f4a5b"
_PIPELINE = {
    "name": "door-pipeline",
    "roleArn": "arn:aws:iam::000000000000:role/r",
    "stages": [
        {
            "name": "Source",
            "actions": [
                {
                    "name": "Source",
                    "actionTypeId": {
                        "category": "Source",
                        "owner": "AWS",
                        "provider": "CodeCommit",
                        "version": "1",
                    },
                }
            ],
        }
    ],
}
# One model-valid request per CodePipeline operation (the door is the same for a known
# or an unknown pipeline: authorization comes before any lookup).
CODEPIPELINE_SAMPLES: dict[str, dict[str, Any]] = {
    "CreatePipeline": {"pipeline": _PIPELINE},
    "GetPipeline": {"name": "door-pipeline"},
    "UpdatePipeline": {"pipeline": _PIPELINE},
    "DeletePipeline": {"name": "door-pipeline"},
    "ListPipelines": {},
    "StartPipelineExecution": {"name": "door-pipeline"},
    "GetPipelineExecution": {"pipelineName": "door-pipeline", "pipelineExecutionId": _UUID},
    "ListPipelineExecutions": {"pipelineName": "door-pipeline"},
    "GetPipelineState": {"name": "door-pipeline"},
    "PutApprovalResult": {
        "pipelineName": "door-pipeline",
        "stageName": "Gate",
        "actionName": "Approve",
        "result": {"summary": "s", "status": "Approved"},
        "token": _UUID,
    },
    "RetryStageExecution": {
        "pipelineName": "door-pipeline",
        "stageName": "Build",
        "pipelineExecutionId": _UUID,
        "retryMode": "FAILED_ACTIONS",
    },
    "StopPipelineExecution": {"pipelineName": "door-pipeline", "pipelineExecutionId": _UUID},
    "ListActionExecutions": {"pipelineName": "door-pipeline"},
}


def test_every_codepipeline_operation_asks_the_authorizer(server: Server, nobody: str) -> None:
    """The CodePipeline API's doors, each signed by a user who holds no policy."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from gitserver.api.pipeline_ops import TARGET_PREFIX, pipeline_operation_table

    assert set(CODEPIPELINE_SAMPLES) == set(pipeline_operation_table())
    key = server.cli("access-key", "create", nobody)
    credentials = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    for operation, body in CODEPIPELINE_SAMPLES.items():
        request = AWSRequest(
            method="POST",
            url=server.base_url + "/",
            data=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"{TARGET_PREFIX}.{operation}",
            },
        )
        SigV4Auth(credentials, "codepipeline", "us-east-1").add_auth(request)
        status, _, answer = http_request(
            server, "POST", "/", body=request.body, headers=dict(request.headers)
        )
        assert status == 400, (operation, status, answer[:300])
        found = json.loads(answer)
        assert found["__type"] == "AccessDeniedException", (operation, found)
        assert f"codepipeline:{operation}" in found["message"], (operation, found)
