"""The authorization matrix's requests: the principals and resources it acts on (the
"world"), and one request per API operation and per web route for a given principal.

Where a real success would spoil a later row (close or merge the pull request, move main,
start a build), a request names something that makes the service refuse after
authorization (not found, outdated, invalid): still an allowed answer. Used by
`tests/integration/test_authorization_matrix.py`; the expected decisions are in
`tests/authz_table.py`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.authz_table import ANONYMOUS, NO_POLICY
from tests.support import Git, Server, SshIdentity
from tests.web_support import Browser

REGION = "us-east-1"
ACCOUNT = "000000000000"
UNREACHABLE = "http://127.0.0.1:9/hook"  # allowed by the server fixture; nobody listens


# -- the world: the principals and resources (made once, by the matrix's fixture) ---------


@dataclass
class Actor:
    label: str
    user: str = ""
    password: str = ""
    key: dict[str, str] | None = None
    git_user: str = ""
    git_password: str = ""
    ssh: SshIdentity | None = None
    # Things of its own that a row may change or delete (ids).
    spare: dict[str, str] = field(default_factory=dict)
    browser: Browser | None = None
    csrf: str = ""


@dataclass
class World:
    server: Server
    tmp: Path
    git: Git
    admin_key: dict[str, str]
    repo: str
    doomed: str  # what DeleteRepository and UpdateRepositoryName act on
    main: str = ""
    feature: str = ""
    readme_blob: str = ""
    pull: str = ""
    revision: str = ""
    comment: str = ""
    doomed_comment: str = ""
    rule: str = ""
    template: str = ""
    pipeline: str = ""
    execution: str = ""
    gate_pipeline: str = ""
    gate_execution: str = ""
    webhook: str = ""
    delivery: str = ""
    actors: dict[str, Actor] = field(default_factory=dict)

    def arn(self, name: str | None = None) -> str:
        return f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{name or self.repo}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- the API rows: one model-valid request per operation, on the repository under test ----

_ZERO = "0" * 40
_TRIGGER = {"name": "matrix", "destinationArn": UNREACHABLE, "branches": [], "events": ["all"]}
_RULE = json.dumps(
    {"Version": "2018-11-08", "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 1}]}
)


def codecommit_requests(w: World, a: Actor) -> dict[str, dict[str, Any]]:
    """Each CodeCommit operation's request for actor `a`. Where a real success would spoil
    a later row (close or merge the pull request, move main), the request names something
    that makes the service refuse after authorization (not found, outdated, invalid)."""
    r, pr, rev = w.repo, w.pull, w.revision
    commits = {"sourceCommitSpecifier": "feature", "destinationCommitSpecifier": "main"}
    three_way = {"repositoryName": r, **commits, "mergeOption": "THREE_WAY_MERGE"}
    into_base = {"repositoryName": r, "sourceCommitSpecifier": "feature"}
    into_base |= {"destinationCommitSpecifier": "base"}
    template = {"approvalRuleTemplateName": w.template}
    on_pr = {"pullRequestId": pr, "revisionId": rev}
    merge_pr = {"pullRequestId": pr, "repositoryName": r, "sourceCommitId": _ZERO}
    return {
        "CreateRepository": {"repositoryName": r},  # exists: refused after authorization
        "GetRepository": {"repositoryName": r},
        "BatchGetRepositories": {"repositoryNames": [r]},
        "ListRepositories": {},
        "DeleteRepository": {"repositoryName": w.doomed},
        "UpdateRepositoryName": {"oldName": w.doomed, "newName": r},  # the new name is taken
        "UpdateRepositoryDescription": {"repositoryName": r, "repositoryDescription": a.label},
        "CreateBranch": {"repositoryName": r, "branchName": unique("b"), "commitId": w.main},
        "GetBranch": {"repositoryName": r, "branchName": "main"},
        "ListBranches": {"repositoryName": r},
        "DeleteBranch": {"repositoryName": r, "branchName": "no-such-branch"},
        "UpdateDefaultBranch": {"repositoryName": r, "defaultBranchName": "main"},
        "GetFile": {"repositoryName": r, "filePath": "README.md"},
        "GetFolder": {"repositoryName": r, "folderPath": "/"},
        "GetBlob": {"repositoryName": r, "blobId": w.readme_blob},
        "GetCommit": {"repositoryName": r, "commitId": w.main},
        "BatchGetCommits": {"repositoryName": r, "commitIds": [w.main]},
        "GetDifferences": {
            "repositoryName": r,
            "beforeCommitSpecifier": w.main,
            "afterCommitSpecifier": w.feature,
        },
        "ListFileCommitHistory": {"repositoryName": r, "filePath": "README.md"},
        "PutFile": {
            "repositoryName": r,
            "branchName": "scratch",
            "filePath": f"{a.label}.txt",
            "fileContent": "eA==",
            "parentCommitId": w.main,
        },
        "DeleteFile": {
            "repositoryName": r,
            "branchName": "scratch",
            "filePath": "docs/a.txt",
            "parentCommitId": _ZERO,
        },
        "CreateCommit": {
            "repositoryName": r,
            "branchName": "scratch",
            "parentCommitId": _ZERO,
            "putFiles": [{"filePath": "c.txt", "fileContent": "eA=="}],
        },
        "MergeBranchesByFastForward": into_base,
        "MergeBranchesBySquash": into_base,
        "MergeBranchesByThreeWay": into_base,
        "CreateUnreferencedMergeCommit": three_way,
        "GetMergeOptions": {"repositoryName": r, **commits},
        "GetMergeCommit": {"repositoryName": r, **commits},
        "GetMergeConflicts": three_way,
        "DescribeMergeConflicts": {**three_way, "filePath": "feature.txt"},
        "BatchDescribeMergeConflicts": three_way,
        "CreatePullRequest": {
            "title": a.label,
            "targets": [
                {"repositoryName": r, "sourceReference": "feature", "destinationReference": "main"}
            ],
        },
        "ListPullRequests": {"repositoryName": r},
        "GetPullRequest": {"pullRequestId": pr},
        "DescribePullRequestEvents": {"pullRequestId": pr},
        "UpdatePullRequestTitle": {"pullRequestId": pr, "title": f"matrix ({a.label})"},
        "UpdatePullRequestDescription": {"pullRequestId": pr, "description": a.label},
        "UpdatePullRequestStatus": {"pullRequestId": pr, "pullRequestStatus": "OPEN"},
        "MergePullRequestByFastForward": merge_pr,
        "MergePullRequestBySquash": merge_pr,
        "MergePullRequestByThreeWay": merge_pr,
        "CreatePullRequestApprovalRule": {
            "pullRequestId": pr,
            "approvalRuleName": unique("rule"),
            "approvalRuleContent": _RULE,
        },
        "UpdatePullRequestApprovalRuleContent": {
            "pullRequestId": pr,
            "approvalRuleName": "no-such-rule",
            "newRuleContent": _RULE,
        },
        "DeletePullRequestApprovalRule": {"pullRequestId": pr, "approvalRuleName": "no-such-rule"},
        "UpdatePullRequestApprovalState": {**on_pr, "approvalState": "APPROVE"},
        "GetPullRequestApprovalStates": on_pr,
        "EvaluatePullRequestApprovalRules": on_pr,
        "GetPullRequestOverrideState": on_pr,
        "OverridePullRequestApprovalRules": {**on_pr, "overrideStatus": "OVERRIDE"},
        "CreateApprovalRuleTemplate": {
            "approvalRuleTemplateName": unique("template"),
            "approvalRuleTemplateContent": _RULE,
        },
        "GetApprovalRuleTemplate": template,
        "ListApprovalRuleTemplates": {},
        "DeleteApprovalRuleTemplate": {"approvalRuleTemplateName": "no-such-template"},
        "UpdateApprovalRuleTemplateName": {
            "oldApprovalRuleTemplateName": "no-such-template",
            "newApprovalRuleTemplateName": unique("template"),
        },
        "UpdateApprovalRuleTemplateDescription": {
            **template,
            "approvalRuleTemplateDescription": a.label,
        },
        "UpdateApprovalRuleTemplateContent": {**template, "newRuleContent": _RULE},
        "ListRepositoriesForApprovalRuleTemplate": template,
        "AssociateApprovalRuleTemplateWithRepository": {**template, "repositoryName": r},
        "DisassociateApprovalRuleTemplateFromRepository": {**template, "repositoryName": r},
        "BatchAssociateApprovalRuleTemplateWithRepositories": {**template, "repositoryNames": [r]},
        "BatchDisassociateApprovalRuleTemplateFromRepositories": {
            **template,
            "repositoryNames": [r],
        },
        "ListAssociatedApprovalRuleTemplatesForRepository": {"repositoryName": r},
        "PostCommentForPullRequest": {
            "pullRequestId": pr,
            "repositoryName": r,
            "beforeCommitId": w.main,
            "afterCommitId": w.feature,
            "content": a.label,
        },
        "PostCommentForComparedCommit": {
            "repositoryName": r,
            "beforeCommitId": w.main,
            "afterCommitId": w.feature,
            "content": a.label,
        },
        "PostCommentReply": {"inReplyTo": w.comment, "content": a.label},
        "GetComment": {"commentId": w.comment},
        "GetCommentReactions": {"commentId": w.comment},
        "GetCommentsForPullRequest": {"pullRequestId": pr},
        "GetCommentsForComparedCommit": {
            "repositoryName": r,
            "beforeCommitId": w.main,
            "afterCommitId": w.feature,
        },
        "UpdateComment": {"commentId": a.spare.get("own_comment", w.comment), "content": a.label},
        # Deleted by the first allowed principal; CommentDeletedException for the next.
        "DeleteCommentContent": {"commentId": w.doomed_comment},
        "PutCommentReaction": {"commentId": w.comment, "reactionValue": ":thumbsup:"},
        "TagResource": {"resourceArn": w.arn(), "tags": {"matrix": a.label}},
        "UntagResource": {"resourceArn": w.arn(), "tagKeys": ["matrix"]},
        "ListTagsForResource": {"resourceArn": w.arn()},
        "PutRepositoryTriggers": {"repositoryName": r, "triggers": [_TRIGGER]},
        "GetRepositoryTriggers": {"repositoryName": r},
        "TestRepositoryTriggers": {"repositoryName": r, "triggers": [_TRIGGER]},
    }


def codepipeline_requests(w: World, a: Actor) -> dict[str, dict[str, Any]]:
    """Each CodePipeline operation's request: reads on the real pipeline, changes on a
    pipeline or execution that does not exist (refused after authorization), so no row
    starts a build or ends the executions the web rows read."""
    p, missing = w.pipeline, "no-such-pipeline"
    definition = {"name": missing, "roleArn": f"arn:aws:iam::{ACCOUNT}:role/matrix", "stages": []}
    unknown_execution = str(uuid.UUID(int=0))
    return {
        "CreatePipeline": {"pipeline": {**definition, "name": p}},  # the name is taken
        "GetPipeline": {"name": p},
        "UpdatePipeline": {"pipeline": definition},
        "DeletePipeline": {"name": missing},
        "ListPipelines": {},
        "StartPipelineExecution": {"name": missing},
        "GetPipelineExecution": {"pipelineName": p, "pipelineExecutionId": w.execution},
        "ListPipelineExecutions": {"pipelineName": p},
        "GetPipelineState": {"name": p},
        "PutApprovalResult": {
            "pipelineName": w.gate_pipeline,
            "stageName": "Gate",
            "actionName": "Gate",
            "result": {"summary": "no", "status": "Rejected"},
            "token": unknown_execution,
        },
        "RetryStageExecution": {
            "pipelineName": p,
            "stageName": "Build",
            "pipelineExecutionId": w.execution,
            "retryMode": "FAILED_ACTIONS",
        },
        "StopPipelineExecution": {"pipelineName": p, "pipelineExecutionId": unknown_execution},
        "ListActionExecutions": {"pipelineName": p},
    }


def api_rows(w: World, a: Actor) -> dict[tuple[str, str], dict[str, Any]]:
    rows = {("codecommit", op): body for op, body in codecommit_requests(w, a).items()}
    rows |= {("codepipeline", op): body for op, body in codepipeline_requests(w, a).items()}
    return rows


# -- the web rows: one request per route (POST forms carry the session's CSRF token) ------

WebRequest = tuple[str, str, dict[str, str] | None]


def _get(path: str) -> WebRequest:
    return ("GET", path, None)


def _post(path: str, **form: str) -> WebRequest:
    return ("POST", path, form)


def web_requests(w: World, a: Actor) -> dict[str, WebRequest]:
    """Each route's request for actor `a`, in the order they run: pages, then forms,
    then the forms that delete something of the actor's own, sign-out last."""
    repo = f"/repositories/{w.repo}"
    pr = f"{repo}/pull-requests/{w.pull}"
    hooks = f"{repo}/settings/webhooks"
    rules = f"{repo}/settings/notifications"
    templates = f"{repo}/settings/approval-templates"
    build = f"/pipelines/{w.pipeline}/executions/{w.execution}"
    gate = f"/pipelines/{w.gate_pipeline}/executions/{w.gate_execution}"
    log = f"{build}/log/Build/Build"
    spare = a.spare
    signer = a if a.label != ANONYMOUS else w.actors[NO_POLICY]
    no_id = "APKANOSUCHKEY0000000"
    merge = {"strategy": "FAST_FORWARD_MERGE", "source_commit": _ZERO}
    return {
        "web-style": _get("/static/style.css"),
        "web-static": _get("/static/site.js"),
        "web-signin-page": _get("/sign-in"),
        # Real credentials (the anonymous visitor has the no-policy user's): a failed
        # attempt would count against 127.0.0.1 in the shared server's sign-in throttle.
        "web-signin": _post("/sign-in", username=signer.user, password=signer.password),
        "web-password-page": _get("/settings/password"),
        # Refused for a confirmation that differs, before the current password is
        # checked (and so without a throttled failure).
        "web-password": _post(
            "/settings/password",
            current_password=a.password,
            new_password="new-password-123",
            confirm_password="other-password-456",
        ),
        "web-repositories": _get("/"),
        "web-repository": _get(repo),
        "web-tree": _get(f"{repo}/tree/main/docs"),
        "web-blob": _get(f"{repo}/blob/main/README.md"),
        "web-blame": _get(f"{repo}/blame/main/README.md"),
        "web-raw": _get(f"{repo}/raw/main/README.md"),
        "web-history": _get(f"{repo}/history/main/README.md"),
        "web-log": _get(f"{repo}/log/main"),
        "web-commit": _get(f"{repo}/commit/{w.feature}"),
        "web-compare": _get(f"{repo}/compare/main...feature"),
        "web-pulls": _get(f"{repo}/pull-requests"),
        "web-pull-new-page": _get(f"{repo}/pull-requests/new?source=feature&destination=main"),
        "web-pull": _get(pr),
        "web-repo-settings": _get(f"{repo}/settings"),
        "web-webhooks": _get(hooks),
        "web-webhook": _get(f"{hooks}/{w.webhook}"),
        "web-notifications": _get(rules),
        "web-approval-templates": _get(templates),
        "web-pipelines": _get("/pipelines"),
        "web-repo-pipelines": _get(f"{repo}/pipelines"),
        "web-pipeline": _get(f"/pipelines/{w.pipeline}"),
        "web-pipeline-execution": _get(build),
        "web-pipeline-log": _get(log),
        "web-pipeline-log-text": _get(f"{log}/download"),
        "web-pipeline-log-events": _get(f"{log}/events"),
        "web-pipeline-artifact": _get(f"{build}/artifacts/BuildOut.zip"),
        "web-ssh-keys": _get("/settings/ssh-keys"),
        "web-credentials": _get("/settings/credentials"),
        "web-admin": _get("/admin"),
        "web-admin-users": _get("/admin/users"),
        "web-admin-user": _get("/admin/users/admin"),
        "web-admin-groups": _get("/admin/groups"),
        "web-admin-group": _get("/admin/groups/no-such-group"),
        "web-admin-policies": _get("/admin/policies"),
        "web-admin-policy-new": _get("/admin/policies/new"),
        "web-admin-policy": _get("/admin/policies/GitServerReadOnly"),
        "web-admin-simulate": _get("/admin/simulate"),
        "web-admin-audit": _get("/admin/audit"),
        # Forms.
        "web-pull-create": _post(
            f"{repo}/pull-requests/new", source="feature", destination="main", title=a.label
        ),
        "web-pull-comment": _post(
            f"{pr}/comments", before=w.main, after=w.feature, content=a.label
        ),
        "web-pull-reply": _post(f"{pr}/comments/{w.comment}/replies", content=a.label),
        "web-pull-edit": _post(
            f"{pr}/comments/{spare.get('own_comment', w.comment)}", content=a.label
        ),
        "web-pull-react": _post(f"{pr}/comments/{w.comment}/reaction", reaction=":thumbsup:"),
        "web-pull-approval": _post(f"{pr}/approval", revision=w.revision, state="APPROVE"),
        "web-pull-override": _post(f"{pr}/override", revision=w.revision, status="OVERRIDE"),
        "web-pull-status": _post(f"{pr}/status", status="OPEN"),
        "web-pull-merge": _post(f"{pr}/merge", **merge),
        "web-pull-merge-when-green": _post(f"{pr}/merge-when-green", **merge),
        "web-pull-merge-when-green-cancel": _post(f"{pr}/merge-when-green/cancel"),
        "web-repo-description": _post(f"{repo}/settings/description", description=a.label),
        "web-repo-default-branch": _post(f"{repo}/settings/default-branch", branch="main"),
        "web-repo-require-status": _post(f"{repo}/settings/required-checks", context="ci/x"),
        "web-repo-unrequire-status": _post(
            f"{repo}/settings/required-checks/remove", context="ci/x"
        ),
        "web-repo-protect": _post(
            f"{repo}/settings/protected-branches", pattern="authz/*", no_deletion="on"
        ),
        "web-repo-unprotect": _post(
            f"{repo}/settings/protected-branches/remove", pattern="authz/*"
        ),
        "web-repo-push-rules": _post(f"{repo}/settings/push-rules", secret_scanning="default"),
        "web-webhook-add": _post(hooks, url=UNREACHABLE, events="push"),
        "web-webhook-edit": _post(f"{hooks}/{w.webhook}/edit", url=UNREACHABLE, events="push"),
        "web-webhook-test": _post(f"{hooks}/{w.webhook}/test"),
        "web-webhook-redeliver": _post(f"{hooks}/{w.webhook}/deliveries/{w.delivery}/redeliver"),
        "web-notification-add": _post(
            rules,
            name=unique("rule"),
            events="codecommit-repository-branches-and-tags-created",
            emails="matrix@example.com",
        ),
        "web-approval-template-associate": _post(templates, template=w.template),
        "web-approval-template-disassociate": _post(
            f"{templates}/disassociate", template=w.template
        ),
        "web-pipeline-retry": _post(f"{build}/retry", stage="Build"),
        "web-pipeline-approve": _post(
            f"{gate}/approval", stage="Gate", action="Gate", decision="reject", comment="no"
        ),
        "web-pipeline-stop": _post(f"{gate}/stop", reason="matrix"),
        "web-pipeline-start": _post(f"/pipelines/{w.gate_pipeline}/start"),
        "web-ssh-key-add": _post("/settings/ssh-keys", key="not a key"),
        "web-ssh-key-status": _post(
            f"/settings/ssh-keys/{spare.get('ssh_key', no_id)}/status", status="Active"
        ),
        "web-git-credential-add": _post("/settings/credentials/git"),
        "web-git-credential-status": _post(
            f"/settings/credentials/git/{spare.get('credential', no_id)}/status",
            status="Active",
        ),
        "web-access-key-add": _post("/settings/credentials/keys"),
        "web-access-key-status": _post(
            f"/settings/credentials/keys/{spare.get('access_key', no_id)}/status", status="Active"
        ),
        "web-admin-user-create": _post(
            "/admin/users", name=unique("victim"), password="victim-password-123"
        ),
        "web-admin-user-attach": _post("/admin/users/admin/policies", policy="GitServerReadOnly"),
        "web-admin-user-detach": _post(
            "/admin/users/admin/policies/detach", policy="GitServerFullAccess"
        ),
        "web-admin-user-join": _post("/admin/users/admin/groups", group="no-such-group"),
        "web-admin-user-leave": _post("/admin/users/admin/groups/remove", group="no-such-group"),
        "web-admin-group-create": _post("/admin/groups", name=unique("group")),
        "web-admin-group-attach": _post(
            "/admin/groups/no-such-group/policies", policy="GitServerReadOnly"
        ),
        "web-admin-group-detach": _post(
            "/admin/groups/no-such-group/policies/detach", policy="GitServerReadOnly"
        ),
        "web-admin-group-add": _post("/admin/groups/no-such-group/members", user="admin"),
        "web-admin-group-remove": _post("/admin/groups/no-such-group/members/remove", user="admin"),
        "web-admin-policy-create": _post(
            "/admin/policies", name=unique("policy"), document='{"Version": "2012-10-17"}'
        ),
        "web-admin-policy-update": _post(
            "/admin/policies/GitServerReadOnly", document='{"Version": "2012-10-17"}'
        ),
        # Forms that delete: each actor's own thing, so every allowed one finds it.
        "web-pull-delete": _post(f"{pr}/comments/{spare.get('comment', w.doomed_comment)}/delete"),
        "web-webhook-delete": _post(f"{hooks}/{spare.get('webhook', w.webhook)}/delete"),
        "web-notification-delete": _post(f"{rules}/{spare.get('rule', w.rule)}/delete"),
        "web-ssh-key-delete": _post(f"/settings/ssh-keys/{spare.get('ssh_key', no_id)}/delete"),
        "web-git-credential-delete": _post(
            f"/settings/credentials/git/{spare.get('credential', no_id)}/delete"
        ),
        "web-access-key-delete": _post(
            f"/settings/credentials/keys/{spare.get('access_key', no_id)}/delete"
        ),
        "web-admin-user-delete": _post("/admin/users/no-such-user/delete"),
        "web-admin-group-delete": _post("/admin/groups/no-such-group/delete"),
        "web-signout": _post("/sign-out"),
    }
