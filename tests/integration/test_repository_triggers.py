"""CodeCommit repository triggers through boto3, delivered to a real receiver."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, error_code
from tests.receivers import Receiver
from tests.support import Git, Server

# Delivery, locking, ordering or crash recovery: SQL semantics decide the outcome.
pytestmark = pytest.mark.database


@pytest.fixture(scope="session")
def cc(server: Server) -> BaseClient:
    return client_for(server, "trigger-admin", admin=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver().start()
    yield instance
    instance.stop()


def test_triggers_deliver_codecommit_records(
    cc: BaseClient, server: Server, git: Git, tmp_path: Path, receiver: Receiver
) -> None:
    name = f"trig-{uuid.uuid4().hex[:8]}"
    arn = cc.create_repository(repositoryName=name)["repositoryMetadata"]["Arn"]
    triggers = [
        {
            "name": "ci",
            "destinationArn": receiver.url,
            "customData": "build please",
            "branches": ["main"],
            "events": ["all"],
        },
        {
            "name": "deletes",
            "destinationArn": receiver.url + "/deletes",
            "branches": [],
            "events": ["deleteReference"],
        },
    ]
    configuration = cc.put_repository_triggers(repositoryName=name, triggers=triggers)
    got = cc.get_repository_triggers(repositoryName=name)
    assert got["configurationId"] == configuration["configurationId"]
    assert sorted(t["name"] for t in got["triggers"]) == ["ci", "deletes"]
    assert next(t for t in got["triggers"] if t["name"] == "ci")["customData"] == "build please"

    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "one\n")
    git("branch", "topic", cwd=work)
    git("push", "-q", server.url(name), "main", "topic", cwd=work)
    git("push", "-q", server.url(name), ":topic", cwd=work)
    received = receiver.wait_for(2)
    main = next(r for r in received if r.path == "/hook").json["Records"][0]
    assert main["eventName"] == "ReferenceChanges" and main["eventSource"] == "aws:codecommit"
    assert main["eventSourceARN"] == arn and main["customData"] == "build please"
    assert main["eventTriggerName"] == "ci"
    assert main["eventTriggerConfigId"] == configuration["configurationId"]
    assert main["codecommit"]["references"] == [
        {"ref": "refs/heads/main", "commit": git.rev_parse(work, "HEAD"), "created": True}
    ]
    deleted = next(r for r in received if r.path == "/hook/deletes").json["Records"][0]
    assert deleted["codecommit"]["references"] == [{"ref": "refs/heads/topic", "deleted": True}]
    assert len(receiver.requests) == 2  # topic's creation matched neither trigger

    test = cc.test_repository_triggers(repositoryName=name, triggers=triggers[:1])
    assert test["successfulExecutions"] == ["ci"] and test["failedExecutions"] == []
    assert receiver.wait_for(3)[2].json["Records"][0]["eventName"] == "TriggerEventTest"

    cc.put_repository_triggers(repositoryName=name, triggers=[])
    assert cc.get_repository_triggers(repositoryName=name)["triggers"] == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            {"events": ["all", "createReference"]},
            "InvalidRepositoryTriggerEventsException",
            id="all-not-alone",
        ),
        pytest.param(
            {"events": ["sometimes"]}, "InvalidRepositoryTriggerEventsException", id="unknown-event"
        ),
        pytest.param(
            {"events": []}, "RepositoryTriggerEventsListRequiredException", id="no-events"
        ),
        pytest.param(
            {"branches": [f"b{n}" for n in range(11)]},
            "MaximumBranchesExceededException",
            id="11-branches",
        ),
        pytest.param(
            {"customData": "x" * 1001},
            "InvalidRepositoryTriggerCustomDataException",
            id="custom-data",
        ),
        pytest.param({"name": "has space"}, "InvalidRepositoryTriggerNameException", id="bad-name"),
        pytest.param(
            {"destinationArn": "ftp://x"},
            "InvalidRepositoryTriggerDestinationArnException",
            id="not-arn",
        ),
        pytest.param(
            {"destinationArn": "arn:aws:sns:eu-west-1:000000000000:t"},
            "InvalidRepositoryTriggerRegionException",
            id="other-region",
        ),
        pytest.param(
            {"destinationArn": "arn:aws:sns:us-east-1:000000000000:unmapped"},
            "InvalidRepositoryTriggerDestinationArnException",
            id="unmapped-arn",
        ),
    ],
)
def test_trigger_errors(cc: BaseClient, change: dict[str, object], expected: str) -> None:
    name = f"trig-{uuid.uuid4().hex[:8]}"
    cc.create_repository(repositoryName=name)
    trigger = {
        "name": "t",
        "destinationArn": "https://ci.example.com/x",
        "branches": [],
        "events": ["all"],
        **change,
    }
    with pytest.raises(ClientError) as raised:
        cc.put_repository_triggers(repositoryName=name, triggers=[trigger])
    assert error_code(raised.value) == expected


def test_at_most_ten_triggers(cc: BaseClient) -> None:
    name = f"trig-{uuid.uuid4().hex[:8]}"
    cc.create_repository(repositoryName=name)
    eleven = [
        {
            "name": f"t{n}",
            "destinationArn": "https://ci.example.com/x",
            "branches": [],
            "events": ["all"],
        }
        for n in range(11)
    ]
    with pytest.raises(cc.exceptions.MaximumRepositoryTriggersExceededException):
        cc.put_repository_triggers(repositoryName=name, triggers=eleven)
    assert cc.get_repository_triggers(repositoryName=name)["triggers"] == []


def test_pull_request_events_do_not_fire_triggers(
    cc: BaseClient, server: Server, git: Git, tmp_path: Path, receiver: Receiver
) -> None:
    """AWS's triggers are about references only (createReference, updateReference,
    deleteReference, all): a pull request's events reach webhooks, never a trigger."""
    name = f"trig-pr-{uuid.uuid4().hex[:8]}"
    cc.create_repository(repositoryName=name)
    trigger = {"name": "all", "destinationArn": receiver.url, "branches": [], "events": ["all"]}
    cc.put_repository_triggers(repositoryName=name, triggers=[trigger])
    witness = receiver.url + "/pulls"
    server.cli("webhook", "create", "--repo", name, "--url", witness, "--events", "pull_request")
    work = git.init(tmp_path / "work")
    git.commit(work, "a.txt", "one\n")
    git("push", "-q", server.url(name), "main", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    git.commit(work, "b.txt", "two\n")
    git("push", "-q", server.url(name), "feature", cwd=work)
    number = cc.create_pull_request(
        title="t", targets=[{"repositoryName": name, "sourceReference": "feature"}]
    )["pullRequest"]["pullRequestId"]
    git.commit(work, "b.txt", "three\n")
    git("push", "-q", server.url(name), "feature", cwd=work)
    receiver.wait_for(6)  # the ping, 3 pushes, and the PR's created and source-updated
    cc.update_pull_request_status(pullRequestId=number, pullRequestStatus="CLOSED")
    receiver.wait_for(7)
    time.sleep(1.5)  # time for a wrong delivery to arrive

    records = [r.json["Records"][0] for r in receiver.requests if r.path == "/hook"]
    assert [(r["eventName"], r["codecommit"]["references"][0]["ref"]) for r in records] == [
        ("ReferenceChanges", "refs/heads/main"),
        ("ReferenceChanges", "refs/heads/feature"),
        ("ReferenceChanges", "refs/heads/feature"),
    ]
    pulls = [
        r.headers["X-GitServer-Event"]
        for r in receiver.requests
        if r.path == "/hook/pulls" and r.headers["X-GitServer-Event"] != "ping"
    ]
    assert pulls == [
        "pullRequestCreated",
        "pullRequestSourceBranchUpdated",
        "pullRequestStatusChanged",
    ]
