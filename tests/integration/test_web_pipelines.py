"""The pipeline pages and forms against a real server that runs pipelines: every page for
a user who may, "not found" for one who may not read the pipeline, forms refused without
the CSRF token and with 403 (nothing changed) for a reader, approval through the form."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pipeline_support import (
    action_runs,
    approval_action,
    build_action,
    create_pipeline,
    pipeline_server,
    push_files,
    settle,
    source_stage,
    statuses,
    unique,
    wait_action,
    wait_statuses,
)
from tests.support import Git, Server
from tests.web_support import Browser, signed_in

PASSWORD = "web-pipe-password-7qz"
ACCOUNT = "000000000000"
BUILD = """version: 0.2
phases:
  build:
    commands:
      - echo "hello-from-build"
      - mkdir -p out && echo built > out/a.txt
artifacts:
  files:
    - out/**/*
"""
WAIT = {"TimeoutInMinutes": "10"}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[Path], str]
) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, database_factory)


def _user(server: Server, tmp_path: Path, statements: list[dict[str, object]]) -> Browser:
    name = f"pipe-{uuid.uuid4().hex[:6]}"
    server.cli("user", "create", name, "--password-stdin", input=PASSWORD + "\n")
    if statements:
        policy = tmp_path / f"{name}.json"
        policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": statements}))
        server.cli("policy", "put-user-policy", name, "P", "--document", str(policy))
    return signed_in(server, name, PASSWORD)


def _pipeline(server: Server, git: Git, tmp_path: Path, build: str = BUILD) -> tuple[str, str]:
    repo = unique("webpipe")
    server.cli("repo", "create", repo)
    push_files(git, server, repo, tmp_path / "work", {"README": "x"})
    pipeline = {
        "name": unique("p"),
        "stages": [
            source_stage(repo),
            {
                "name": "Build",
                "actions": [
                    build_action(
                        configuration={"BuildSpec": build}, outputArtifacts=[{"name": "BuildOut"}]
                    )
                ],
            },
            {"name": "Gate", "actions": [approval_action(configuration=WAIT)]},
        ],
    }
    return repo, create_pipeline(server, tmp_path, pipeline)


@pytest.fixture(scope="module")
def admin(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Browser:
    """An operator: every codepipeline action (and codecommit's, for the repository's
    list of its pipelines)."""
    everything = {"Effect": "Allow", "Action": ["codepipeline:*", "codecommit:*"], "Resource": "*"}
    return _user(server, tmp_path_factory.mktemp("operator"), [everything])


def test_pages_logs_artifacts_and_approval_through_the_form(
    server: Server, git: Git, tmp_path: Path, admin: Browser
) -> None:
    repo, name = _pipeline(server, git, tmp_path)
    base = f"/pipelines/{name}"
    started = admin.post(base + "/start", {"csrf": admin.csrf()})
    assert started.status == 303
    execution = started.location.rsplit("/", 1)[-1]
    assert wait_action(server, name, "Approve", "InProgress") == execution
    assert name in admin.get("/pipelines").body
    assert name in admin.get(f"/repositories/{repo}/pipelines").body
    page = admin.get(base)
    assert page.status == 200
    assert "Succeeded" in page.body and "Approve" in page.body and execution[:8] in page.body
    assert 'name="decision" value="approve"' in page.body and "Release change" in page.body
    run = admin.get(f"{base}/executions/{execution}")
    assert run.status == 200 and "BuildOut.zip" in run.body and "Stop execution" in run.body
    log = admin.get(f"{base}/executions/{execution}/log/Build/Build")
    assert log.status == 200 and "hello-from-build" in log.body
    text = admin.get(f"{base}/executions/{execution}/log/Build/Build/download")
    assert text.status == 200 and "hello-from-build" in text.body
    events = admin.get(f"{base}/executions/{execution}/log/Build/Build/events")
    assert "data: hello-from-build" in events.body and "event: end" in events.body
    artifact = admin.request("GET", f"{base}/executions/{execution}/artifacts/BuildOut.zip")
    assert artifact.status == 200
    assert admin.get(f"{base}/executions/{execution}/artifacts/SourceOut.zip").status == 404
    assert admin.get(f"{base}/executions/nope").status == 404
    assert admin.get(f"{base}/executions/{execution}/log/Build/Nope").status == 404
    decided = admin.post(
        f"{base}/executions/{execution}/approval",
        {
            "csrf": admin.csrf(),
            "stage": "Gate",
            "action": "Approve",
            "decision": "approve",
            "comment": "ship it",
        },
    )
    assert decided.status == 303
    assert wait_statuses(server, name, lambda s: s == ["Succeeded"])[0]["status"] == "Succeeded"
    again = admin.post(
        f"{base}/executions/{execution}/approval",
        {"csrf": admin.csrf(), "stage": "Gate", "decision": "approve"},
    )
    assert again.status == 409 and "Traceback" not in again.body


def test_retry_and_stop_through_the_forms(
    server: Server, git: Git, tmp_path: Path, admin: Browser
) -> None:
    # The build fails on its first run and passes on the next (its build number is 2).
    flaky = BUILD.replace(
        "commands:\n", 'commands:\n      - test "$CODEBUILD_BUILD_NUMBER" -ge 2\n'
    )
    _, name = _pipeline(server, git, tmp_path, flaky)
    base = f"/pipelines/{name}"
    execution = admin.post(base + "/start", {"csrf": admin.csrf()}).location.rsplit("/", 1)[-1]
    page = f"{base}/executions/{execution}"
    settle(server, name, lambda s: s == ["Failed"])
    assert "Retry failed actions" in admin.get(page).body
    retried = admin.post(page + "/retry", {"csrf": admin.csrf(), "stage": "Build"})
    assert (retried.status, retried.location) == (303, page)
    assert wait_action(server, name, "Approve", "InProgress") == execution
    assert [(r.action, r.attempt, r.status) for r in action_runs(server, name)][1:] == [
        ("Build", 1, "Failed"),
        ("Build", 2, "Succeeded"),
        ("Approve", 1, "InProgress"),
    ]
    assert "Stop execution" in admin.get(page).body
    stopped = admin.post(page + "/stop", {"csrf": admin.csrf(), "reason": "from the web"})
    assert (stopped.status, stopped.location) == (303, page)
    settle(server, name, lambda s: s == ["Stopped"])
    shown = admin.get(page).body
    assert "from the web" in shown and "Stop execution" not in shown
    # A stopped stage can be retried too; then stopped again, abandoning what runs.
    assert "Retry stopped actions" in shown
    again = admin.post(page + "/retry", {"csrf": admin.csrf(), "stage": "Gate"})
    assert again.status == 303
    settle(server, name, lambda s: s == ["InProgress"])
    wait_action(server, name, "Approve", "InProgress")
    form = {"csrf": admin.csrf(), "abandon": "1", "reason": "again"}
    assert admin.post(page + "/stop", form).status == 303
    settle(server, name, lambda s: s == ["Stopped"])
    assert [(r.action, r.attempt, r.status) for r in action_runs(server, name)][-2:] == [
        ("Approve", 1, "Abandoned"),
        ("Approve", 2, "Abandoned"),
    ]


def test_a_reader_sees_no_controls_and_forged_posts_change_nothing(
    server: Server, git: Git, tmp_path: Path, admin: Browser
) -> None:
    _, name = _pipeline(server, git, tmp_path)
    arn = f"arn:aws:codepipeline:us-east-1:{ACCOUNT}:{name}"
    reader = _user(
        server,
        tmp_path,
        [
            {
                "Effect": "Allow",
                "Action": ["codepipeline:Get*", "codepipeline:List*"],
                "Resource": arn,
            },
            {"Effect": "Allow", "Action": "codepipeline:ListPipelines", "Resource": "*"},
        ],
    )
    execution = server.cli("pipeline", "start", name)["pipelineExecutionId"]
    wait_action(server, name, "Approve", "InProgress")
    base = f"/pipelines/{name}"
    page = reader.get(base)
    assert page.status == 200 and "Approve" in page.body
    assert "decision" not in page.body and "Release change" not in page.body
    assert "Stop execution" not in reader.get(f"{base}/executions/{execution}").body
    assert reader.get(f"{base}/executions/{execution}/log/Build/Build").status == 200
    token = reader.csrf()
    forms = {
        "/start": {},
        f"/executions/{execution}/approval": {"stage": "Gate", "decision": "approve"},
        f"/executions/{execution}/retry": {"stage": "Build"},
        f"/executions/{execution}/stop": {"abandon": "1"},
    }
    for tail, form in forms.items():
        assert reader.post(base + tail, {"csrf": "forged", **form}).status == 403, tail
        assert admin.post(base + tail, {**form}).status == 403, tail  # no token at all
        assert reader.post(base + tail, {"csrf": token, **form}).status == 403, tail
    assert statuses(server, name) == ["InProgress"]
    # Someone who may not read it sees what a missing pipeline shows.
    nobody = _user(server, tmp_path, [])
    missing = nobody.get("/pipelines/not-there").body.replace("not-there", "X")
    for tail in ("", f"/executions/{execution}", f"/executions/{execution}/log/Build/Build"):
        found = nobody.get(base + tail)
        assert found.status == 404, tail
        assert found.body.replace(name, "X") == missing, tail
    assert nobody.post(base + "/start", {"csrf": nobody.csrf()}).status == 404
    assert nobody.get("/pipelines").status == 403
    assert statuses(server, name) == ["InProgress"]
    server.cli("pipeline", "stop", execution, "--abandon")
