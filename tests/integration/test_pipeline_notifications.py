"""A pipeline's state changes reach people and AWS-shaped receivers: a notification rule on
the pipeline (CodeStar's pipeline event ids, email over real SMTP and a chat webhook) says
when an approval is needed, when the execution fails, resumes and succeeds; an
`eventbridge` webhook gets CodePipeline's own events (`source: aws.codepipeline`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.pipeline_support import (
    SERVER_ARGS,
    approval_action,
    build_action,
    create_pipeline,
    push_files,
    source_stage,
    unique,
    wait_action,
    wait_statuses,
)
from tests.receivers import Inbox, Receiver
from tests.support import Git, Server, wait_until

ECHO = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n"
GATE = {
    "TimeoutInMinutes": "10",
    "CustomData": "Check the staging site first",
    "ExternalEntityLink": "https://staging.example.com",
}
RULE_EVENTS = (
    "codepipeline-pipeline-manual-approval-needed,"
    "codepipeline-pipeline-pipeline-execution-failed,"
    "codepipeline-pipeline-stage-execution-resumed,"
    "codepipeline-pipeline-pipeline-execution-succeeded"
)


def _body(mail: Any) -> str:
    for part in mail.walk():
        if part.get_content_type() == "text/plain":
            return str(part.get_payload(decode=True).decode())
    raise AssertionError("no text part")


def _subject(mail: Any) -> str:
    """The subject unfolded (a long one is folded onto the next header line)."""
    return " ".join(str(mail["Subject"]).split()).removeprefix("[gitserver] ")


def _subjects(inbox: Inbox, count: int) -> list[str]:
    return [_subject(m) for m in inbox.wait_for(count)]


def test_pipeline_rules_and_eventbridge_events(
    make_server: Callable[..., Server], git: Git, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    chat, bridge = Receiver().start(), Receiver().start()
    try:
        server = make_server(*SERVER_ARGS, "--smtp-host", "127.0.0.1", "--smtp-port", str(port))
        repo = unique("pipe")
        server.cli("repo", "create", repo)
        push_files(git, server, repo, tmp_path / "work", {"README": "x"})
        name = create_pipeline(
            server,
            tmp_path,
            {
                "name": unique("p"),
                "stages": [
                    source_stage(repo),
                    {"name": "Gate", "actions": [approval_action(configuration=GATE)]},
                    {"name": "Build", "actions": [build_action(configuration={"BuildSpec": ECHO})]},
                ],
            },
        )
        rule = ["notification-rule", "create", "--name", "deploys", "--events", RULE_EVENTS]
        refused = server.cli(*rule, "--pipeline", "nope", "--email", "a@b.c", check=False)
        assert refused.returncode != 0 and "Pipeline nope does not exist" in refused.stderr
        wrong = server.cli(
            *rule[:-1],
            "codecommit-repository-pull-request-created",
            "--pipeline",
            name,
            "--email",
            "a@b.c",
            check=False,
        )
        assert wrong.returncode != 0 and "event type ids of a pipeline" in wrong.stderr
        server.cli(
            *rule,
            "--pipeline",
            name,
            "--detail",
            "FULL",
            "--email",
            "team@example.com",
            "--chat-url",
            chat.url,
        )
        [listed] = server.cli("notification-rule", "list")["rules"]
        assert listed["pipeline"] == name and listed["repository"] is None
        server.cli(
            "webhook", "create", "--repo", repo, "--url", bridge.url, "--events", "pipeline",
            "--format", "eventbridge",
        )  # fmt: skip

        execution = server.cli("pipeline", "start", name)["pipelineExecutionId"]
        wait_action(server, name, "Approve", "InProgress")
        [needed] = inbox.wait_for(1)
        where = f"Approve in stage Gate of pipeline {name}"
        assert _subject(needed) == f"Approval needed: {where}"
        text = _body(needed)
        page = f"/pipelines/{name}/executions/{execution}"
        assert page in text, "the link leads to the page that approves"
        assert "Check the staging site first" in text and "https://staging.example.com" in text

        server.cli("pipeline", "approve", execution, "Gate", "--reject", "--comment", "not yet")
        wait_statuses(server, name, lambda s: s == ["Failed"])
        server.cli("pipeline", "retry", execution, "Gate")
        wait_action(server, name, "Approve", "InProgress")
        server.cli("pipeline", "approve", execution, "Gate", "--comment", "ship it")
        wait_statuses(server, name, lambda s: s == ["Succeeded"])
        assert _subjects(inbox, 5) == [
            f"Approval needed: {where}",
            f"Pipeline {name} execution {execution[:8]} failed",
            f"The stage Gate of pipeline {name} resumed",
            f"Approval needed: {where}",
            f"Pipeline {name} execution {execution[:8]} succeeded",
        ], "only what the rule names: no build, stage start or other action mail"
        assert "Summary: " in _body(inbox.wait_for(5)[1]), "FULL detail says why it failed"
        said = [r.json["text"] for r in chat.wait_for(5)]
        assert said[0] == f"Approval needed: {where}" and said[-1].endswith("succeeded")

        _check_eventbridge(bridge, name, execution)
    finally:
        chat.stop()
        bridge.stop()


def _check_eventbridge(bridge: Receiver, name: str, execution: str) -> None:
    def of(detail_type: str) -> list[dict[str, Any]]:
        return [r.json for r in bridge.requests if r.json.get("detail-type") == detail_type]

    done = wait_until(
        lambda: [
            e
            for e in of("CodePipeline Pipeline Execution State Change")
            if e["detail"]["state"] == "SUCCEEDED"
        ],
        20,
    )
    [succeeded] = done
    assert succeeded["source"] == "aws.codepipeline"
    assert succeeded["resources"] == [f"arn:aws:codepipeline:us-east-1:000000000000:{name}"]
    detail = succeeded["detail"]
    assert detail["pipeline"] == name and detail["execution-id"] == execution
    assert detail["version"] == 1.0 and detail["start-time"].endswith("Z")
    assert detail["execution-trigger"]["trigger-type"] == "StartPipelineExecution"
    states = [e["detail"]["state"] for e in of("CodePipeline Pipeline Execution State Change")]
    assert states == ["STARTED", "FAILED", "RESUMED", "SUCCEEDED"]
    gate = [
        (e["detail"]["state"], e["detail"].get("pipeline-execution-attempt"))
        for e in of("CodePipeline Stage Execution State Change")
        if e["detail"]["stage"] == "Gate"
    ]
    assert gate == [("STARTED", 1.0), ("FAILED", 1.0), ("RESUMED", 2.0), ("SUCCEEDED", 2.0)]
    approvals = [
        e["detail"]
        for e in of("CodePipeline Action Execution State Change")
        if e["detail"]["action"] == "Approve"
    ]
    assert [a["state"] for a in approvals] == ["STARTED", "FAILED", "STARTED", "SUCCEEDED"]
    assert approvals[0]["type"] == {
        "owner": "AWS",
        "provider": "Manual",
        "category": "Approval",
        "version": "1",
    }
    assert approvals[1]["execution-result"]["error-code"] == "JobFailed"
