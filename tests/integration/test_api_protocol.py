"""The API's wire protocol: SigV4 failures as AWS names them, targets, and output shapes."""

from __future__ import annotations

import base64
import contextlib
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.model import Shape
from botocore.session import get_session

from gitserver.api.model import service_model
from gitserver.api.ops import operation_table
from tests.api_support import REGION, codecommit, error_code
from tests.support import Server

TARGET = "CodeCommit_20150413."


@pytest.fixture(scope="session")
def admin_key(server: Server) -> dict[str, str]:
    if "api-proto" not in {u["UserName"] for u in server.cli("user", "list")["users"]}:
        server.cli("user", "create", "api-proto", "--admin")
    return dict(server.cli("access-key", "create", "api-proto"))


def _signed(
    server: Server,
    key: dict[str, str],
    operation: str,
    body: dict[str, Any] | bytes,
    *,
    when: datetime | None = None,
    secret: str | None = None,
    service: str = "codecommit",
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Sign like botocore does (optionally at another time or with a wrong secret) and send."""
    request = AWSRequest(
        method="POST",
        url=server.base_url + "/",
        data=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": TARGET + operation,
        },
    )
    credentials = Credentials(key["AccessKeyId"], secret or key["SecretAccessKey"])
    signer = SigV4Auth(credentials, service, REGION)
    if when is not None:
        # botocore reads the clock through this module-level function at signing time.
        with mock_clock(when):
            signer.add_auth(request)
        return _send(request.url, request.body, dict(request.headers))
    signer.add_auth(request)
    return _send(request.url, request.body, dict(request.headers))


@contextlib.contextmanager
def mock_clock(when: datetime) -> Iterator[None]:
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: when.replace(tzinfo=None)
    try:
        yield
    finally:
        botocore.auth.get_current_datetime = original


def _send(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"{}")


def test_signed_request_and_request_id(server: Server, admin_key: dict[str, str]) -> None:
    status, headers, body = _signed(server, admin_key, "ListRepositories", {})
    assert status == 200
    assert "repositories" in body
    assert uuid.UUID(headers["x-amzn-RequestId"])
    assert headers["Content-Type"].startswith("application/x-amz-json-1.1")


@pytest.mark.parametrize(
    ("case", "expected_status", "expected_type"),
    [
        pytest.param("no-auth", 403, "MissingAuthenticationToken", id="missing-auth"),
        pytest.param("garbage-auth", 400, "IncompleteSignature", id="malformed-auth"),
        pytest.param("unknown-key", 400, "UnrecognizedClientException", id="unknown-key"),
        pytest.param("wrong-secret", 400, "InvalidSignatureException", id="wrong-secret"),
        pytest.param("wrong-service", 400, "InvalidSignatureException", id="wrong-service"),
        pytest.param("tampered-body", 400, "InvalidSignatureException", id="tampered-body"),
        pytest.param("skew-past", 400, "RequestExpired", id="16-minutes-old"),
        pytest.param("skew-future", 400, "RequestExpired", id="16-minutes-ahead"),
    ],
)
def test_signature_failures(
    server: Server,
    admin_key: dict[str, str],
    case: str,
    expected_status: int,
    expected_type: str,
) -> None:
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": TARGET + "ListRepositories",
    }
    url = server.base_url + "/"
    if case == "no-auth":
        result = _send(url, b"{}", headers)
    elif case == "garbage-auth":
        result = _send(url, b"{}", {**headers, "Authorization": "AWS4-HMAC-SHA256 nonsense"})
    elif case == "unknown-key":
        result = _signed(
            server,
            {"AccessKeyId": "AKIAUNKNOWN000000000", "SecretAccessKey": "x"},
            "ListRepositories",
            {},
        )
    elif case == "wrong-secret":
        result = _signed(server, admin_key, "ListRepositories", {}, secret="not-the-secret")
    elif case == "wrong-service":
        result = _signed(server, admin_key, "ListRepositories", {}, service="s3")
    elif case == "tampered-body":
        request = AWSRequest(method="POST", url=url, data=b"{}", headers=headers)
        SigV4Auth(
            Credentials(admin_key["AccessKeyId"], admin_key["SecretAccessKey"]),
            "codecommit",
            REGION,
        ).add_auth(request)
        result = _send(url, b'{"sortBy":"repositoryName"}', dict(request.headers))
    else:
        offset = timedelta(minutes=16) * (-1 if case == "skew-past" else 1)
        result = _signed(server, admin_key, "ListRepositories", {}, when=datetime.now(UTC) + offset)
    status, response_headers, body = result
    assert (status, body.get("__type")) == (expected_status, expected_type), body
    assert body["message"]
    assert response_headers["x-amzn-ErrorType"] == expected_type


def test_within_clock_skew_is_accepted(server: Server, admin_key: dict[str, str]) -> None:
    status, _, _ = _signed(
        server, admin_key, "ListRepositories", {}, when=datetime.now(UTC) - timedelta(minutes=14)
    )
    assert status == 200


def test_inactive_key_is_refused(server: Server) -> None:
    if "api-inactive" not in {u["UserName"] for u in server.cli("user", "list")["users"]}:
        server.cli("user", "create", "api-inactive", "--admin")
    key = server.cli("access-key", "create", "api-inactive")
    assert _signed(server, key, "ListRepositories", {})[0] == 200
    server.cli("access-key", "deactivate", key["AccessKeyId"])
    status, _, body = _signed(server, key, "ListRepositories", {})
    assert (status, body["__type"]) == (400, "UnrecognizedClientException")


def test_unknown_and_unsupported_operations(server: Server, admin_key: dict[str, str]) -> None:
    status, _, body = _signed(server, admin_key, "DoesNotExist", {})
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, _, body = _signed(server, admin_key, "GetRepository", {"repositoryName": 5})
    assert (status, body["__type"]) == (400, "InvalidRepositoryNameException")
    status, _, body = _signed(server, admin_key, "GetRepository", {"unknownMember": "x"})
    assert (status, body["__type"]) == (400, "RepositoryNameRequiredException")
    status, _, body = _signed(server, admin_key, "ListRepositories", {"unknownMember": "x"})
    assert status == 200 and "repositories" in body


@pytest.mark.parametrize(
    ("operation", "depth", "expected"),
    [
        ("ListRepositories", 100_000, "SerializationException"),
        ("CreateRepository", 100_000, "SerializationException"),
        ("CreateRepository", 5_000, "SerializationException"),
        # Deep but parseable: the model refuses a list where a tag value belongs.
        ("CreateRepository", 900, "InvalidParameterException"),
    ],
)
def test_deeply_nested_json_is_a_4xx(
    server: Server, admin_key: dict[str, str], operation: str, depth: int, expected: str
) -> None:
    """A body nested past Python's recursion limit is bad input, not an InternalFailure."""
    nested = b"[" * depth + b"]" * depth
    body = b'{"repositoryName": "deep", "tags": {"k": ' + nested + b"}}"
    status, _, reply = _signed(server, admin_key, operation, body)
    assert status == 400, (status, reply)
    assert reply["__type"] == expected, reply
    assert reply.get("message"), reply
    with pytest.raises(Exception) as info:
        codecommit(server, admin_key).get_repository(repositoryName="deep")
    assert error_code(info.value) == "RepositoryDoesNotExistException"


def test_path_prefix(make_server: Any) -> None:
    private = make_server("--no-ssh", "--api-prefix", "/codecommit")
    private.cli("user", "create", "prefixed", "--admin")
    key = private.cli("access-key", "create", "prefixed")
    cc = boto3.client(
        "codecommit",
        endpoint_url=private.base_url + "/codecommit",
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    assert cc.list_repositories()["repositories"] == []


def _sample(shape: Shape, member: str) -> Any:
    """A value that satisfies the model's constraints for `shape`."""
    kind = shape.type_name
    if kind == "structure":
        # Required members, and the repository even where the model leaves it optional.
        names = [*shape.required_members, *({"repositoryName", "branchName"} & set(shape.members))]
        return {name: _sample(shape.members[name], name) for name in names}
    if kind == "list":
        return [_sample(shape.member, member)]
    if kind == "map":
        return {"k": _sample(shape.value, member)}
    if kind in {"integer", "long"}:
        return max(1, shape.metadata.get("min", 1))
    if kind == "boolean":
        return True
    if kind == "blob":
        return "eA=="
    if kind == "timestamp":
        return 0
    if shape.enum:
        return shape.enum[0]
    if member == "resourceArn":
        return "arn:aws:codecommit:us-east-1:000000000000:anything"
    if member.lower().endswith("commitid") or member == "blobId":
        return "a" * 40
    return "a" * max(1, shape.metadata.get("min", 1))


@pytest.mark.parametrize("operation", sorted(operation_table()))
def test_every_operation_is_authorized(
    server: Server, operation: str, no_policy_key: dict[str, str]
) -> None:
    """A user without any policy reaches no operation: each one asks the authorizer."""
    op_model = service_model().operation_model(operation)
    body = _sample(op_model.input_shape, "") if op_model.input_shape else {}
    status, _, response = _signed(server, no_policy_key, operation, body)
    assert (status, response.get("__type")) == (400, "AccessDeniedException"), response
    assert f"codecommit:{operation}" in response["message"]


@pytest.fixture(scope="session")
def no_policy_key(server: Server) -> dict[str, str]:
    if "api-nobody" not in {u["UserName"] for u in server.cli("user", "list")["users"]}:
        server.cli("user", "create", "api-nobody")
    return dict(server.cli("access-key", "create", "api-nobody"))


def test_outputs_parse_without_loss(server: Server, admin_key: dict[str, str]) -> None:
    """For every implemented operation: botocore's own parser reads every member we send,
    and no member the model requires is missing."""
    from botocore.parsers import create_parser

    cc_model = get_session().get_service_model("codecommit")
    parser = create_parser("json")
    name = f"shape-{uuid.uuid4().hex[:6]}"
    seen: set[str] = set()

    def call(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        status, headers, body = _signed(server, admin_key, operation, params)
        assert status == 200, (operation, body)
        output = cc_model.operation_model(operation).output_shape
        if output is not None:
            parsed = parser.parse(
                {"status_code": 200, "headers": headers, "body": json.dumps(body).encode()},
                output,
            )
            _assert_lossless(output, body, parsed, operation)
        seen.add(operation)
        return body

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    repo = {"repositoryName": name}
    arn = call("CreateRepository", {**repo, "repositoryDescription": "d", "tags": {"k": "v"}})[
        "repositoryMetadata"
    ]["Arn"]
    first = call(
        "PutFile",
        {**repo, "branchName": "main", "fileContent": b64("a"), "filePath": "dir/a.txt"},
    )
    second = call(
        "CreateCommit",
        {
            **repo,
            "branchName": "main",
            "parentCommitId": first["commitId"],
            "putFiles": [{"filePath": "b.txt", "fileContent": b64("b")}],
        },
    )
    c1, c2 = first["commitId"], second["commitId"]
    call("GetRepository", repo)
    call("BatchGetRepositories", {"repositoryNames": [name, "missing-one"]})
    call("ListRepositories", {})
    call("CreateBranch", {**repo, "branchName": "feature", "commitId": c2})
    call("GetBranch", {**repo, "branchName": "main"})
    call("ListBranches", repo)
    call("UpdateDefaultBranch", {**repo, "defaultBranchName": "main"})
    call("GetFile", {**repo, "filePath": "dir/a.txt"})
    call("GetFolder", {**repo, "folderPath": "/"})
    call("GetBlob", {**repo, "blobId": first["blobId"]})
    call("GetCommit", {**repo, "commitId": c2})
    call("BatchGetCommits", {**repo, "commitIds": [c1, c2, "f" * 40]})
    call("GetDifferences", {**repo, "beforeCommitSpecifier": c1, "afterCommitSpecifier": c2})
    call("ListFileCommitHistory", {**repo, "filePath": "dir/a.txt"})
    target = {"repositoryName": name, "sourceReference": "feature"}
    pr = call("CreatePullRequest", {"title": "t", "targets": [target], "clientRequestToken": "x"})
    pr_id = {"pullRequestId": pr["pullRequest"]["pullRequestId"]}
    call("GetPullRequest", pr_id)
    call("ListPullRequests", repo)
    call("UpdatePullRequestTitle", {**pr_id, "title": "t2"})
    call("UpdatePullRequestDescription", {**pr_id, "description": "d"})
    rule = {"approvalRuleName": "r", "approvalRuleContent": _RULE}
    call("CreatePullRequestApprovalRule", {**pr_id, **rule})
    call(
        "UpdatePullRequestApprovalRuleContent",
        {**pr_id, "approvalRuleName": "r", "newRuleContent": _RULE},
    )
    revision = {**pr_id, "revisionId": pr["pullRequest"]["revisionId"]}
    call("UpdatePullRequestApprovalState", {**revision, "approvalState": "REVOKE"})
    call("GetPullRequestApprovalStates", revision)
    call("EvaluatePullRequestApprovalRules", revision)
    call("OverridePullRequestApprovalRules", {**revision, "overrideStatus": "OVERRIDE"})
    call("GetPullRequestOverrideState", revision)
    call("DeletePullRequestApprovalRule", {**pr_id, "approvalRuleName": "r"})
    tpl = {"approvalRuleTemplateName": name}
    call("CreateApprovalRuleTemplate", {**tpl, "approvalRuleTemplateContent": _RULE})
    call("GetApprovalRuleTemplate", tpl)
    call("ListApprovalRuleTemplates", {})
    call("UpdateApprovalRuleTemplateDescription", {**tpl, "approvalRuleTemplateDescription": "d"})
    call("UpdateApprovalRuleTemplateContent", {**tpl, "newRuleContent": _RULE})
    call("AssociateApprovalRuleTemplateWithRepository", {**tpl, **repo})
    call("ListAssociatedApprovalRuleTemplatesForRepository", repo)
    call("ListRepositoriesForApprovalRuleTemplate", tpl)
    call("DisassociateApprovalRuleTemplateFromRepository", {**tpl, **repo})
    call(
        "BatchAssociateApprovalRuleTemplateWithRepositories",
        {**tpl, "repositoryNames": [name, "nope"]},
    )
    call(
        "BatchDisassociateApprovalRuleTemplateFromRepositories", {**tpl, "repositoryNames": [name]}
    )
    call(
        "UpdateApprovalRuleTemplateName",
        {"oldApprovalRuleTemplateName": name, "newApprovalRuleTemplateName": name + "-t"},
    )
    call("DeleteApprovalRuleTemplate", {"approvalRuleTemplateName": name + "-t"})
    call("UpdatePullRequestStatus", {**pr_id, "pullRequestStatus": "CLOSED"})
    call("DescribePullRequestEvents", pr_id)
    place = {**repo, "beforeCommitId": c1, "afterCommitId": c2}
    line = {"filePath": "b.txt", "filePosition": 1, "relativeFileVersion": "AFTER"}
    posted = call(
        "PostCommentForPullRequest",
        {**pr_id, **place, "content": "c", "location": line, "clientRequestToken": "ct"},
    )
    comment_id = {"commentId": posted["comment"]["commentId"]}
    call("PostCommentReply", {"inReplyTo": comment_id["commentId"], "content": "r"})
    call("PostCommentForComparedCommit", {**place, "content": "c", "location": line})
    call("GetCommentsForComparedCommit", {**repo, "afterCommitId": c2})
    call("UpdateComment", {**comment_id, "content": "c2"})
    call("PutCommentReaction", {**comment_id, "reactionValue": ":thumbsup:"})
    call("GetCommentReactions", comment_id)
    call("GetComment", comment_id)
    call("GetCommentsForPullRequest", pr_id)
    call("DeleteCommentContent", comment_id)
    call("DeleteFile", {**repo, "branchName": "main", "filePath": "b.txt", "parentCommitId": c2})
    # Merges: `side` (from c1) has a change main lacks.
    side = {"sourceCommitSpecifier": "side", "destinationCommitSpecifier": "main"}
    call("CreateBranch", {**repo, "branchName": "side", "commitId": c1})
    call(
        "PutFile",
        {
            **repo,
            "branchName": "side",
            "parentCommitId": c1,
            "fileContent": b64("s"),
            "filePath": "side.txt",
        },
    )
    call("GetMergeOptions", {**repo, **side})
    call("CreateUnreferencedMergeCommit", {**repo, **side, "mergeOption": "SQUASH_MERGE"})
    call(
        "MergeBranchesByFastForward",
        {
            **repo,
            "sourceCommitSpecifier": "main",
            "destinationCommitSpecifier": "feature",
        },
    )
    call("MergeBranchesBySquash", {**repo, **side, "targetBranch": "feature"})
    call("MergeBranchesByThreeWay", {**repo, **side})
    call("GetMergeCommit", {**repo, **side})
    # Pull-request merges: three branches off main, merged one way each.
    tip = call("GetBranch", {**repo, "branchName": "main"})["branch"]["commitId"]
    merged = {}
    for how in ("FastForward", "Squash", "ThreeWay"):
        call("CreateBranch", {**repo, "branchName": how, "commitId": tip})
        put = {**repo, "branchName": how, "parentCommitId": tip, "fileContent": b64(how)}
        call("PutFile", {**put, "filePath": f"{how}.txt"})
        target = {"repositoryName": name, "sourceReference": how}
        merged[how] = call("CreatePullRequest", {"title": how, "targets": [target]})
    for how, created in merged.items():
        call(
            f"MergePullRequestBy{how}",
            {**repo, "pullRequestId": created["pullRequest"]["pullRequestId"]},
        )
    # Merge conflicts: `ours` and `theirs` (from c1) change dir/a.txt differently.
    for branch in ("ours", "theirs"):
        call("CreateBranch", {**repo, "branchName": branch, "commitId": c1})
        change = {"fileContent": b64(branch), "filePath": "dir/a.txt", "parentCommitId": c1}
        call("PutFile", {**repo, "branchName": branch, **change})
    both = {"sourceCommitSpecifier": "theirs", "destinationCommitSpecifier": "ours"}
    merging = {**repo, **both, "mergeOption": "THREE_WAY_MERGE"}
    assert call("GetMergeConflicts", merging)["conflictMetadataList"]
    call("DescribeMergeConflicts", {**merging, "filePath": "dir/a.txt"})
    call("BatchDescribeMergeConflicts", {**merging, "filePaths": ["dir/a.txt", "nope"]})
    call("TagResource", {"resourceArn": arn, "tags": {"team": "blue"}})
    call("ListTagsForResource", {"resourceArn": arn})
    call("UntagResource", {"resourceArn": arn, "tagKeys": ["team"]})
    trigger = {
        "name": "t",
        "destinationArn": "http://127.0.0.1:9/x",
        "branches": [],
        "events": ["all"],
    }
    call("PutRepositoryTriggers", {**repo, "triggers": [trigger]})
    call("GetRepositoryTriggers", repo)
    call("TestRepositoryTriggers", {**repo, "triggers": [trigger]})
    call("DeleteBranch", {**repo, "branchName": "feature"})
    call("UpdateRepositoryDescription", {**repo, "repositoryDescription": "new"})
    call("UpdateRepositoryName", {"oldName": name, "newName": name + "-2"})
    call("DeleteRepository", {"repositoryName": name + "-2"})
    assert seen == set(operation_table()), "an implemented operation has no shape check"


_RULE = json.dumps(
    {"Version": "2018-11-08", "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 1}]}
)


def _assert_lossless(shape: Shape, raw: Any, parsed: Any, where: str) -> None:
    if shape.type_name == "structure":
        assert isinstance(raw, dict), where
        assert set(raw) <= set(shape.members), (
            f"{where}: unknown members {set(raw) - set(shape.members)}"
        )
        for required in shape.required_members:
            assert required in raw, f"{where}: required member {required} missing"
        for name, value in raw.items():
            _assert_lossless(shape.members[name], value, parsed[name], f"{where}.{name}")
    elif shape.type_name == "list":
        assert len(raw) == len(parsed), where
        for index, (a, b) in enumerate(zip(raw, parsed, strict=True)):
            _assert_lossless(shape.member, a, b, f"{where}[{index}]")
    elif shape.type_name == "timestamp":
        assert abs(parsed.timestamp() - raw) < 0.001, where
    elif shape.type_name == "blob":
        import base64

        assert base64.b64decode(raw) == parsed, where
    else:
        assert raw == parsed, where


def test_signature_failures_are_audited_without_the_secret(
    server: Server, admin_key: dict[str, str]
) -> None:
    status, headers, _ = _signed(server, admin_key, "ListRepositories", {}, secret="x" * 40)
    assert status == 400
    request_id = headers["x-amzn-RequestId"]
    deadline = time.monotonic() + 20
    found: list[dict[str, Any]] = []
    while not found and time.monotonic() < deadline:
        records = server.cli("audit", "list", "--limit", "1000")["events"]
        found = [r for r in records if r["requestId"] == request_id]
        time.sleep(0.3)
    assert found, "the failed signature was not recorded"
    record = found[0]
    assert record["userName"] == admin_key["AccessKeyId"]
    assert record["errorCode"] == "InvalidSignatureException"
    assert record["transport"] == "api"
    assert admin_key["SecretAccessKey"] not in json.dumps(records)
