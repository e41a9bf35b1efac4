"""Approval rule templates through real boto3: the 13 operations, and the rules a new pull
request gets from the templates associated with its repository."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api_support import client_for, error_code
from tests.support import Git, Server

pytestmark = pytest.mark.database

ACCOUNT = "000000000000"


@pytest.fixture(scope="session")
def cc(server: Server) -> BaseClient:
    return client_for(server, "tpl-admin", admin=True)


@pytest.fixture(scope="session")
def reviewer(server: Server) -> BaseClient:
    return client_for(server, "tpl-reviewer", admin=True)


def _content(*destinations: str, needed: int = 1) -> str:
    document: dict[str, Any] = {
        "Version": "2018-11-08",
        "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": needed}],
    }
    if destinations:
        document["DestinationReferences"] = list(destinations)
    return json.dumps(document)


def _code(call: Callable[[], object]) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return error_code(info.value)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _branches(git: Git, tmp_path: Path, url: str) -> None:
    """main, release and feature (one commit ahead), all pushed."""
    work = git.init(tmp_path / _unique("work"))
    git.commit(work, "README.md", "hello\n", "first")
    git("push", "-q", url, "main", cwd=work)
    git("push", "-q", url, "main:release", cwd=work)
    git("checkout", "-q", "-b", "feature", cwd=work)
    git.commit(work, "app.py", "print(1)\n", "feature work")
    git("push", "-q", url, "feature", cwd=work)


def _open(cc: BaseClient, name: str, destination: str) -> dict[str, Any]:
    target = {"repositoryName": name, "sourceReference": "feature"}
    target["destinationReference"] = destination
    return dict(cc.create_pull_request(title="t", targets=[target])["pullRequest"])


def test_template_crud(cc: BaseClient) -> None:
    name = _unique("tpl")
    created = cc.create_approval_rule_template(
        approvalRuleTemplateName=name,
        approvalRuleTemplateDescription="two for main",
        approvalRuleTemplateContent=_content("refs/heads/main", needed=2),
    )["approvalRuleTemplate"]
    assert created["approvalRuleTemplateName"] == name
    assert created["lastModifiedUser"] == f"arn:aws:iam::{ACCOUNT}:user/tpl-admin"
    got = cc.get_approval_rule_template(approvalRuleTemplateName=name)["approvalRuleTemplate"]
    assert got == created
    assert (
        _code(
            lambda: cc.create_approval_rule_template(
                approvalRuleTemplateName=name, approvalRuleTemplateContent=_content()
            )
        )
        == "ApprovalRuleTemplateNameAlreadyExistsException"
    )
    with pytest.raises(ClientError) as info:
        cc.create_approval_rule_template(
            approvalRuleTemplateName=_unique("bad"),
            approvalRuleTemplateContent=_content().replace("Approvers", "Reviewers"),
        )
    assert error_code(info.value) == "InvalidApprovalRuleTemplateContentException"
    assert "Statements[0].Type" in info.value.response["Error"]["Message"]

    described = cc.update_approval_rule_template_description(
        approvalRuleTemplateName=name, approvalRuleTemplateDescription="new words"
    )["approvalRuleTemplate"]
    assert described["approvalRuleTemplateDescription"] == "new words"
    assert (
        _code(
            lambda: cc.update_approval_rule_template_content(
                approvalRuleTemplateName=name,
                newRuleContent=_content(),
                existingRuleContentSha256="0" * 64,
            )
        )
        == "InvalidRuleContentSha256Exception"
    )
    changed = cc.update_approval_rule_template_content(
        approvalRuleTemplateName=name,
        newRuleContent=_content("refs/heads/main"),
        existingRuleContentSha256=created["ruleContentSha256"],
    )["approvalRuleTemplate"]
    assert changed["ruleContentSha256"] != created["ruleContentSha256"]
    renamed = name + "-new"
    out = cc.update_approval_rule_template_name(
        oldApprovalRuleTemplateName=name, newApprovalRuleTemplateName=renamed
    )["approvalRuleTemplate"]
    assert out["approvalRuleTemplateId"] == created["approvalRuleTemplateId"]
    assert (
        _code(lambda: cc.get_approval_rule_template(approvalRuleTemplateName=name))
        == "ApprovalRuleTemplateDoesNotExistException"
    )

    others = [_unique("tpl-page") for _ in range(3)]
    for other in others:
        cc.create_approval_rule_template(
            approvalRuleTemplateName=other, approvalRuleTemplateContent=_content()
        )
    listed: list[str] = []
    kwargs: dict[str, Any] = {"maxResults": 2}
    while True:
        page = cc.list_approval_rule_templates(**kwargs)
        assert len(page["approvalRuleTemplateNames"]) <= 2
        listed += page["approvalRuleTemplateNames"]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert {renamed, *others} <= set(listed) and len(listed) == len(set(listed))

    deleted = cc.delete_approval_rule_template(approvalRuleTemplateName=renamed)
    assert deleted["approvalRuleTemplateId"] == created["approvalRuleTemplateId"]
    assert renamed not in cc.list_approval_rule_templates()["approvalRuleTemplateNames"]
    for other in others:
        cc.delete_approval_rule_template(approvalRuleTemplateName=other)


def test_associations(cc: BaseClient, repo: Callable[..., str]) -> None:
    name = _unique("tpl-assoc")
    cc.create_approval_rule_template(
        approvalRuleTemplateName=name, approvalRuleTemplateContent=_content()
    )
    one, two = repo("assoc"), repo("assoc")
    cc.associate_approval_rule_template_with_repository(
        approvalRuleTemplateName=name, repositoryName=one
    )
    cc.associate_approval_rule_template_with_repository(  # again: no change
        approvalRuleTemplateName=name, repositoryName=one
    )
    missing = _unique("missing")
    batch = cc.batch_associate_approval_rule_template_with_repositories(
        approvalRuleTemplateName=name, repositoryNames=[two, missing]
    )
    assert batch["associatedRepositoryNames"] == [two]
    assert [(e["repositoryName"], e["errorCode"]) for e in batch["errors"]] == [
        (missing, "RepositoryDoesNotExistException")
    ]
    listed = cc.list_repositories_for_approval_rule_template(approvalRuleTemplateName=name)
    assert listed["repositoryNames"] == sorted([one, two])
    for_one = cc.list_associated_approval_rule_templates_for_repository(repositoryName=one)
    assert name in for_one["approvalRuleTemplateNames"]
    assert (
        _code(lambda: cc.delete_approval_rule_template(approvalRuleTemplateName=name))
        == "ApprovalRuleTemplateInUseException"
    )
    assert (
        _code(
            lambda: cc.associate_approval_rule_template_with_repository(
                approvalRuleTemplateName=name, repositoryName=missing
            )
        )
        == "RepositoryDoesNotExistException"
    )
    assert (
        _code(
            lambda: cc.associate_approval_rule_template_with_repository(
                approvalRuleTemplateName=_unique("nope"), repositoryName=one
            )
        )
        == "ApprovalRuleTemplateDoesNotExistException"
    )

    cc.disassociate_approval_rule_template_from_repository(
        approvalRuleTemplateName=name, repositoryName=one
    )
    batch = cc.batch_disassociate_approval_rule_template_from_repositories(
        approvalRuleTemplateName=name, repositoryNames=[two]
    )
    assert batch["disassociatedRepositoryNames"] == [two] and batch["errors"] == []
    listed = cc.list_repositories_for_approval_rule_template(approvalRuleTemplateName=name)
    assert listed["repositoryNames"] == []
    assert (
        _code(
            lambda: cc.batch_associate_approval_rule_template_with_repositories(
                approvalRuleTemplateName=name, repositoryNames=[f"r{i}" for i in range(26)]
            )
        )
        == "MaximumRepositoryNamesExceededException"
    )
    cc.delete_approval_rule_template(approvalRuleTemplateName=name)


def test_a_new_pull_request_gets_the_rules_of_matching_templates(
    cc: BaseClient,
    reviewer: BaseClient,
    server: Server,
    repo: Callable[..., str],
    git: Git,
    tmp_path: Path,
) -> None:
    associated, other = repo("tplrepo"), repo("tplrepo")
    for name in (associated, other):
        _branches(git, tmp_path, server.url(name))
    for_main, for_all = _unique("main-only"), _unique("every-branch")
    main_template = cc.create_approval_rule_template(
        approvalRuleTemplateName=for_main,
        approvalRuleTemplateContent=_content("refs/heads/main"),
    )["approvalRuleTemplate"]
    cc.create_approval_rule_template(
        approvalRuleTemplateName=for_all, approvalRuleTemplateContent=_content(needed=2)
    )
    # A PR opened before the association gets nothing from it.
    before = _open(cc, associated, "main")
    for template in (for_main, for_all):
        cc.associate_approval_rule_template_with_repository(
            approvalRuleTemplateName=template, repositoryName=associated
        )

    into_main = _open(cc, associated, "main")
    rules = {r["approvalRuleName"]: r for r in into_main["approvalRules"]}
    assert set(rules) == {for_main, for_all}
    assert rules[for_main]["originApprovalRuleTemplate"] == {
        "approvalRuleTemplateId": main_template["approvalRuleTemplateId"],
        "approvalRuleTemplateName": for_main,
    }
    assert rules[for_main]["ruleContentSha256"] == main_template["ruleContentSha256"]
    into_release = _open(cc, associated, "release")
    assert [r["approvalRuleName"] for r in into_release["approvalRules"]] == [for_all]
    assert _open(cc, other, "main")["approvalRules"] == []
    assert before["approvalRules"] == []
    assert (
        cc.get_pull_request(pullRequestId=before["pullRequestId"])["pullRequest"]["approvalRules"]
        == []
    )

    pid, rev = into_main["pullRequestId"], into_main["revisionId"]
    evaluation = cc.evaluate_pull_request_approval_rules(pullRequestId=pid, revisionId=rev)
    assert sorted(evaluation["evaluation"]["approvalRulesNotSatisfied"]) == sorted(
        [for_main, for_all]
    )
    reviewer.update_pull_request_approval_state(
        pullRequestId=pid, revisionId=rev, approvalState="APPROVE"
    )
    evaluation = cc.evaluate_pull_request_approval_rules(pullRequestId=pid, revisionId=rev)
    assert evaluation["evaluation"]["approvalRulesSatisfied"] == [for_main]
    assert (
        _code(
            lambda: cc.update_pull_request_approval_rule_content(
                pullRequestId=pid, approvalRuleName=for_main, newRuleContent=_content()
            )
        )
        == "CannotModifyApprovalRuleFromTemplateException"
    )
    assert (
        _code(
            lambda: cc.delete_pull_request_approval_rule(
                pullRequestId=pid, approvalRuleName=for_main
            )
        )
        == "CannotDeleteApprovalRuleFromTemplateException"
    )
    # The template's rules are the PR's from its creation: no rule-created event.
    types = [
        e["pullRequestEventType"]
        for e in cc.describe_pull_request_events(pullRequestId=pid)["pullRequestEvents"]
    ]
    assert types == ["PULL_REQUEST_CREATED", "PULL_REQUEST_APPROVAL_STATE_CHANGED"]

    for template in (for_main, for_all):
        cc.disassociate_approval_rule_template_from_repository(
            approvalRuleTemplateName=template, repositoryName=associated
        )
        cc.delete_approval_rule_template(approvalRuleTemplateName=template)
    # Rules already given stay with their pull request.
    kept = cc.get_pull_request(pullRequestId=pid)["pullRequest"]["approvalRules"]
    assert {r["approvalRuleName"] for r in kept} == {for_main, for_all}


def test_template_operations_are_authorized_as_aws_documents(
    cc: BaseClient, server: Server, repo: Callable[..., str], tmp_path: Path
) -> None:
    """Templates' own operations on `*`; associating on the repository named."""
    allowed, denied = repo("tplauth"), repo("tplauth")
    allowed_arn = cc.get_repository(repositoryName=allowed)["repositoryMetadata"]["Arn"]
    user = _unique("tpl-user")
    client = client_for(server, user)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["codecommit:CreateApprovalRuleTemplate", "codecommit:Get*"],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": "codecommit:AssociateApprovalRuleTemplateWithRepository",
                "Resource": allowed_arn,
            },
        ],
    }
    document = tmp_path / "policy.json"
    document.write_text(json.dumps(policy))
    server.cli("policy", "put-user-policy", user, "Templates", "--document", str(document))

    name = _unique("tpl-auth")
    client.create_approval_rule_template(
        approvalRuleTemplateName=name, approvalRuleTemplateContent=_content()
    )
    assert client.get_approval_rule_template(approvalRuleTemplateName=name)
    client.associate_approval_rule_template_with_repository(
        approvalRuleTemplateName=name, repositoryName=allowed
    )
    for call in (
        lambda: client.associate_approval_rule_template_with_repository(
            approvalRuleTemplateName=name, repositoryName=denied
        ),
        lambda: client.delete_approval_rule_template(approvalRuleTemplateName=name),
        lambda: client.list_approval_rule_templates(),
    ):
        assert _code(call) == "AccessDeniedException"
    assert cc.list_repositories_for_approval_rule_template(approvalRuleTemplateName=name)[
        "repositoryNames"
    ] == [allowed]
    cc.disassociate_approval_rule_template_from_repository(
        approvalRuleTemplateName=name, repositoryName=allowed
    )
    cc.delete_approval_rule_template(approvalRuleTemplateName=name)


def test_at_most_25_templates_per_repository(cc: BaseClient, repo: Callable[..., str]) -> None:
    name = repo("tpl-limit")
    prefix = _unique("tpl-limit")
    templates = [f"{prefix}-{i:02d}" for i in range(26)]
    for template in templates:
        cc.create_approval_rule_template(
            approvalRuleTemplateName=template, approvalRuleTemplateContent=_content()
        )
    batch = cc.batch_associate_approval_rule_template_with_repositories
    for template in templates[:25]:
        assert batch(approvalRuleTemplateName=template, repositoryNames=[name])["errors"] == []
    assert (
        _code(
            lambda: cc.associate_approval_rule_template_with_repository(
                approvalRuleTemplateName=templates[25], repositoryName=name
            )
        )
        == "MaximumRuleTemplatesAssociatedWithRepositoryException"
    )
    errors = batch(approvalRuleTemplateName=templates[25], repositoryNames=[name])["errors"]
    assert [e["errorCode"] for e in errors] == [
        "MaximumRuleTemplatesAssociatedWithRepositoryException"
    ]
    listed = cc.list_associated_approval_rule_templates_for_repository(
        repositoryName=name, maxResults=10
    )
    assert listed["approvalRuleTemplateNames"] == templates[:10] and listed["nextToken"]
    for template in templates:
        cc.batch_disassociate_approval_rule_template_from_repositories(
            approvalRuleTemplateName=template, repositoryNames=[name]
        )
        cc.delete_approval_rule_template(approvalRuleTemplateName=template)
