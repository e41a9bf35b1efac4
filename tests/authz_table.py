"""The authorization matrix's expected table, derived without the server's evaluator.

Each row names the IAM actions a request needs (`codecommit:<Operation>` as AWS
documents it, the web pages' actions as docs/architecture.md "Web UI" lists them) and
whether it acts on the repository under test. A principal is allowed a row when a plain
`fnmatch` of the actions against the Allow statements of the policy documents below (AWS's
managed policies as AWS publishes them, plus the additions this server documents) finds
each of them, and no explicit Deny covers the repository under test.

Sources of the documents (AWS managed policy reference, current versions):
`AWSCodeCommitReadOnly`, `AWSCodeCommitPowerUser`, `AWSCodeCommitFullAccess`,
`AWSCodePipeline_ReadOnlyAccess`, `AWSCodePipeline_FullAccess`. Statements for services
this server does not host (EventBridge, SNS, Lambda, CodeStar Notifications, S3) are left
out: they name no action any row needs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

ANONYMOUS = "anonymous"
NO_POLICY = "no-policy"
READ_ONLY = "read-only"
DENIED_REPO = "full-deny-repo"
POWER_USER = "power-user"
FULL_ACCESS = "full-access"
# In the order the matrix drives them: the ones that may change things come last, and
# the power user before full access (a resource it spends is then "gone" for the latter,
# still an allowed answer).
PRINCIPALS = (ANONYMOUS, NO_POLICY, READ_ONLY, DENIED_REPO, POWER_USER, FULL_ACCESS)

_OWN_USER = "arn:aws:iam::*:user/${aws:username}"
_LIST_USERS: dict[str, object] = {
    "Sid": "IAMReadOnlyListAccess",
    "Effect": "Allow",
    "Action": ["iam:ListUsers"],
    "Resource": "*",
}
_READ_OWN = ["iam:ListAccessKeys", "iam:ListSSHPublicKeys", "iam:ListServiceSpecificCredentials"]


def _read_own(*more: str) -> dict[str, object]:
    return {
        "Sid": "IAMReadOnlyConsoleAccess",
        "Effect": "Allow",
        "Action": [*_READ_OWN, *more],
        "Resource": _OWN_USER,
    }


_SELF_SERVICE: list[dict[str, object]] = [
    _LIST_USERS,
    _read_own(),
    {
        "Sid": "IAMUserSSHKeys",
        "Effect": "Allow",
        "Action": [
            "iam:DeleteSSHPublicKey",
            "iam:GetSSHPublicKey",
            "iam:ListSSHPublicKeys",
            "iam:UpdateSSHPublicKey",
            "iam:UploadSSHPublicKey",
        ],
        "Resource": _OWN_USER,
    },
    {
        "Sid": "IAMSelfManageServiceSpecificCredentials",
        "Effect": "Allow",
        "Action": [
            "iam:CreateServiceSpecificCredential",
            "iam:UpdateServiceSpecificCredential",
            "iam:DeleteServiceSpecificCredential",
            "iam:ResetServiceSpecificCredential",
        ],
        "Resource": _OWN_USER,
    },
]


def _document(actions: list[str], *extra: dict[str, object]) -> str:
    first = {"Effect": "Allow", "Action": actions, "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [first, *extra]})


AWS_CODECOMMIT_READ_ONLY = _document(
    [
        "codecommit:BatchGet*",
        "codecommit:BatchDescribe*",
        "codecommit:Describe*",
        "codecommit:EvaluatePullRequestApprovalRules",
        "codecommit:Get*",
        "codecommit:List*",
        "codecommit:GitPull",
    ],
    _LIST_USERS,
    _read_own("iam:GetSSHPublicKey"),
)
AWS_CODECOMMIT_POWER_USER = _document(
    [
        "codecommit:AssociateApprovalRuleTemplateWithRepository",
        "codecommit:BatchAssociateApprovalRuleTemplateWithRepositories",
        "codecommit:BatchDisassociateApprovalRuleTemplateFromRepositories",
        "codecommit:BatchGet*",
        "codecommit:BatchDescribe*",
        "codecommit:Create*",
        "codecommit:DeleteBranch",
        "codecommit:DeleteFile",
        "codecommit:Describe*",
        "codecommit:DisassociateApprovalRuleTemplateFromRepository",
        "codecommit:EvaluatePullRequestApprovalRules",
        "codecommit:Get*",
        "codecommit:List*",
        "codecommit:Merge*",
        "codecommit:OverridePullRequestApprovalRules",
        "codecommit:Put*",
        "codecommit:Post*",
        "codecommit:TagResource",
        "codecommit:Test*",
        "codecommit:UntagResource",
        "codecommit:Update*",
        "codecommit:GitPull",
        "codecommit:GitPush",
    ],
    *_SELF_SERVICE,
)
AWS_CODECOMMIT_FULL_ACCESS = _document(["codecommit:*"], *_SELF_SERVICE)
AWS_CODEPIPELINE_READ_ONLY = _document(
    [
        "codepipeline:GetPipeline",
        "codepipeline:GetPipelineState",
        "codepipeline:GetPipelineExecution",
        "codepipeline:ListPipelineExecutions",
        "codepipeline:ListActionExecutions",
        "codepipeline:ListActionTypes",
        "codepipeline:ListPipelines",
        "codepipeline:ListTagsForResource",
    ]
)
AWS_CODEPIPELINE_FULL_ACCESS = _document(["codepipeline:*"])

# Documented, deliberate differences from AWS (each cited where it is written down).
# - `gitserver:` commit-status actions have no AWS counterpart; the managed policies grant
#   them (docs/architecture.md "Commit statuses": "full: all; power user: put and get;
#   read-only: get"; auth/actions.py module docstring).
# - `gitserver:UpdatePushProtection` (push protection's rules) is granted by full access
#   only (docs/architecture.md "Push protection").
# - AWS has no CodePipeline power-user policy; ours grants power users `codepipeline:*`
#   but DeletePipeline (docs/pipelines.md "The codepipeline API").
_FULL_EXTRA = _document(
    [
        "gitserver:PutCommitStatus",
        "gitserver:GetCommitStatuses",
        "gitserver:UpdateRequiredStatusChecks",
        "gitserver:UpdatePushProtection",
    ]
)
_POWER_EXTRA = _document(
    [
        "gitserver:PutCommitStatus",
        "gitserver:GetCommitStatuses",
        "codepipeline:CreatePipeline",
        "codepipeline:UpdatePipeline",
        "codepipeline:Get*",
        "codepipeline:List*",
        "codepipeline:StartPipelineExecution",
        "codepipeline:StopPipelineExecution",
        "codepipeline:RetryStageExecution",
        "codepipeline:PutApprovalResult",
    ]
)
_READ_ONLY_EXTRA = _document(["gitserver:GetCommitStatuses"])

DOCUMENTS: dict[str, tuple[str, ...]] = {
    ANONYMOUS: (),
    NO_POLICY: (),
    READ_ONLY: (AWS_CODECOMMIT_READ_ONLY, AWS_CODEPIPELINE_READ_ONLY, _READ_ONLY_EXTRA),
    POWER_USER: (AWS_CODECOMMIT_POWER_USER, _POWER_EXTRA),
    FULL_ACCESS: (AWS_CODECOMMIT_FULL_ACCESS, AWS_CODEPIPELINE_FULL_ACCESS, _FULL_EXTRA),
    DENIED_REPO: (AWS_CODECOMMIT_FULL_ACCESS, AWS_CODEPIPELINE_FULL_ACCESS, _FULL_EXTRA),
}
# What each principal holds on the server: the managed policy it is attached to
# (DENIED_REPO also holds an inline Deny of "*" on the repository under test).
MANAGED: dict[str, str] = {
    READ_ONLY: "GitServerReadOnly",
    POWER_USER: "GitServerPowerUser",
    FULL_ACCESS: "GitServerFullAccess",
    DENIED_REPO: "GitServerFullAccess",
}


def granted_patterns(principal: str) -> list[str]:
    """Every Action pattern of the principal's Allow statements."""
    patterns: list[str] = []
    for text in DOCUMENTS[principal]:
        for statement in json.loads(text)["Statement"]:
            if statement["Effect"] == "Allow":
                actions = statement["Action"]
                patterns.extend([actions] if isinstance(actions, str) else actions)
    return patterns


def grants(principal: str, action: str) -> bool:
    # IAM matches action names case-insensitively, with `*` and `?` wildcards.
    return any(fnmatchcase(action.lower(), p.lower()) for p in granted_patterns(principal))


@dataclass(frozen=True, slots=True)
class Need:
    """What a row needs: any one of `alternatives` (each a set of actions all needed);
    none at all means any signed-in user; `public` means anyone, signed in or not."""

    alternatives: tuple[tuple[str, ...], ...] = ()
    on_repository: bool = True
    public: bool = False


def need(*actions: str, on_repository: bool = True) -> Need:
    return Need((tuple(actions),), on_repository)


def any_of(*alternatives: Sequence[str], on_repository: bool = False) -> Need:
    return Need(tuple(tuple(a) for a in alternatives), on_repository)


PUBLIC = Need(public=True, on_repository=False)
SIGNED_IN = Need(on_repository=False)


def expected_allowed(principal: str, row: Need) -> bool:
    """The expected decision: anonymous only on public rows; the Deny on the repository
    under test beats every Allow; otherwise any alternative whose actions are all granted."""
    if row.public:
        return True
    if principal == ANONYMOUS:
        return False
    if principal == DENIED_REPO and row.on_repository:
        return False
    if not row.alternatives:
        return True
    return any(all(grants(principal, a) for a in alt) for alt in row.alternatives)


# -- the API: `<service>:<Operation>`; the operations AWS decides on no repository ----------

# The Service Authorization Reference lists no resource type for these CodeCommit actions
# (so they are decided on `*`, which a Deny on one repository's ARN does not cover).
API_NOT_ON_A_REPOSITORY = frozenset(
    {
        "ListRepositories",
        "CreateApprovalRuleTemplate",
        "GetApprovalRuleTemplate",
        "ListApprovalRuleTemplates",
        "DeleteApprovalRuleTemplate",
        "UpdateApprovalRuleTemplateName",
        "UpdateApprovalRuleTemplateDescription",
        "UpdateApprovalRuleTemplateContent",
        "ListRepositoriesForApprovalRuleTemplate",
    }
)


def api_need(service: str, operation: str) -> Need:
    """`codecommit:<Operation>` on the repository (CodePipeline's on the pipeline's ARN)."""
    on_repository = service == "codecommit" and operation not in API_NOT_ON_A_REPOSITORY
    return need(f"{service}:{operation}", on_repository=on_repository)


# -- git: each service's action (PRODUCT.md "IAM-style policies", docs/architecture.md) ----

GIT: dict[str, Need] = {
    "git-upload-pack": need("codecommit:GitPull"),
    "git-receive-pack": need("codecommit:GitPush"),
    # `git archive --remote` reads the repository as a clone does.
    "git-upload-archive": need("codecommit:GitPull"),
}


# -- the web UI: docs/architecture.md "Web UI" (the page/action tables) --------------------


def _cc(*operations: str) -> Need:
    return need(*(f"codecommit:{o}" for o in operations))


def _cp(*operations: str) -> Need:
    # Pipeline pages are decided on the pipeline's ARN, not a repository's.
    return need(*(f"codepipeline:{o}" for o in operations), on_repository=False)


def _own(action: str) -> Need:
    # Self-service, on the viewer's own user ARN.
    return need(f"iam:{action}", on_repository=False)


def _iam(*actions: str) -> Need:
    return need(*actions, on_repository=False)


_PUT_TRIGGERS = _cc("PutRepositoryTriggers")
_GET_TRIGGERS = _cc("GetRepositoryTriggers")
# The merge box and merge when green: MergePullRequestBy<strategy> on the destination (all
# three strategies are granted alike by every managed policy).
_MERGE = _cc("MergePullRequestByFastForward")
_ADMIN_SECTIONS = (
    ("iam:ListUsers", "iam:ListGroupsForUser"),
    ("iam:ListGroups",),
    ("iam:ListPolicies",),
    ("iam:SimulatePrincipalPolicy",),
    ("cloudtrail:LookupEvents",),
)

WEB: dict[str, Need] = {
    # Public: the sign-in page and form, static files.
    "web-style": PUBLIC,
    "web-static": PUBLIC,
    "web-signin-page": PUBLIC,
    "web-signin": PUBLIC,
    # One's own session and password: any signed-in user.
    "web-signout": SIGNED_IN,
    "web-password-page": SIGNED_IN,
    "web-password": SIGNED_IN,
    # Repositories.
    "web-repositories": need("codecommit:ListRepositories", on_repository=False),
    "web-repository": _cc("GetRepository"),
    "web-tree": _cc("GetFolder"),
    "web-blob": _cc("GetFile"),
    "web-blame": _cc("GetFile"),
    "web-raw": _cc("GetBlob"),
    "web-history": _cc("ListFileCommitHistory"),
    "web-log": _cc("GetCommit"),
    "web-commit": _cc("GetCommit", "GetDifferences"),
    "web-compare": _cc("GetDifferences"),
    # Pull requests.
    "web-pulls": _cc("ListPullRequests"),
    "web-pull-new-page": _cc("CreatePullRequest"),
    "web-pull-create": _cc("CreatePullRequest"),
    "web-pull": _cc("GetPullRequest"),
    "web-pull-comment": _cc("PostCommentForPullRequest"),
    "web-pull-reply": _cc("PostCommentReply"),
    "web-pull-edit": _cc("UpdateComment"),
    "web-pull-delete": _cc("DeleteCommentContent"),
    "web-pull-react": _cc("PutCommentReaction"),
    "web-pull-approval": _cc("UpdatePullRequestApprovalState"),
    "web-pull-override": _cc("OverridePullRequestApprovalRules"),
    "web-pull-status": _cc("UpdatePullRequestStatus"),
    "web-pull-merge": _MERGE,
    "web-pull-merge-when-green": _MERGE,
    "web-pull-merge-when-green-cancel": _MERGE,
    # Repository settings.
    "web-repo-settings": _cc("GetRepository"),
    "web-repo-description": _cc("UpdateRepositoryDescription"),
    "web-repo-default-branch": _cc("UpdateDefaultBranch"),
    "web-repo-require-status": need("gitserver:UpdateRequiredStatusChecks"),
    "web-repo-unrequire-status": need("gitserver:UpdateRequiredStatusChecks"),
    "web-repo-protect": need("gitserver:UpdatePushProtection"),
    "web-repo-unprotect": need("gitserver:UpdatePushProtection"),
    "web-repo-push-rules": need("gitserver:UpdatePushProtection"),
    "web-webhooks": _GET_TRIGGERS,
    "web-webhook": _GET_TRIGGERS,
    "web-webhook-add": _PUT_TRIGGERS,
    "web-webhook-edit": _PUT_TRIGGERS,
    "web-webhook-delete": _PUT_TRIGGERS,
    "web-webhook-redeliver": _PUT_TRIGGERS,
    "web-webhook-test": _cc("TestRepositoryTriggers"),
    "web-notifications": _GET_TRIGGERS,
    "web-notification-add": _PUT_TRIGGERS,
    "web-notification-delete": _PUT_TRIGGERS,
    "web-approval-templates": _cc("ListAssociatedApprovalRuleTemplatesForRepository"),
    "web-approval-template-associate": _cc("AssociateApprovalRuleTemplateWithRepository"),
    "web-approval-template-disassociate": _cc("DisassociateApprovalRuleTemplateFromRepository"),
    # Pipelines ("each page and form decided with its codepipeline:* action").
    "web-pipelines": _cp("ListPipelines"),
    # A repository's pipelines: GetRepository, then the pipelines the viewer may read.
    "web-repo-pipelines": _cc("GetRepository"),
    "web-pipeline": _cp("GetPipeline", "GetPipelineState"),
    "web-pipeline-execution": _cp("GetPipelineExecution"),
    "web-pipeline-log": _cp("ListActionExecutions"),
    "web-pipeline-log-text": _cp("ListActionExecutions"),
    "web-pipeline-log-events": _cp("ListActionExecutions"),
    "web-pipeline-artifact": _cp("ListActionExecutions"),
    "web-pipeline-start": _cp("StartPipelineExecution"),
    "web-pipeline-approve": _cp("PutApprovalResult"),
    "web-pipeline-retry": _cp("RetryStageExecution"),
    "web-pipeline-stop": _cp("StopPipelineExecution"),
    # Self-service ("decided with IAM's actions on the viewer's own ARN"); the
    # credentials page lists Git credentials and access keys: either list opens it.
    "web-ssh-keys": _own("ListSSHPublicKeys"),
    "web-ssh-key-add": _own("UploadSSHPublicKey"),
    "web-ssh-key-status": _own("UpdateSSHPublicKey"),
    "web-ssh-key-delete": _own("DeleteSSHPublicKey"),
    "web-credentials": any_of(["iam:ListServiceSpecificCredentials"], ["iam:ListAccessKeys"]),
    "web-git-credential-add": _own("CreateServiceSpecificCredential"),
    "web-git-credential-status": _own("UpdateServiceSpecificCredential"),
    "web-git-credential-delete": _own("DeleteServiceSpecificCredential"),
    "web-access-key-add": _own("CreateAccessKey"),
    "web-access-key-status": _own("UpdateAccessKey"),
    "web-access-key-delete": _own("DeleteAccessKey"),
    # Administration (the "Administration" table): IAM's actions, CloudTrail's for audit.
    "web-admin": any_of(*_ADMIN_SECTIONS),
    "web-admin-users": _iam("iam:ListUsers", "iam:ListGroupsForUser"),
    "web-admin-user-create": _iam("iam:CreateUser", "iam:CreateLoginProfile"),
    "web-admin-user": _iam("iam:GetUser", "iam:ListGroupsForUser", "iam:ListAttachedUserPolicies"),
    "web-admin-user-delete": _iam("iam:DeleteUser"),
    "web-admin-user-attach": _iam("iam:AttachUserPolicy"),
    "web-admin-user-detach": _iam("iam:DetachUserPolicy"),
    "web-admin-user-join": _iam("iam:AddUserToGroup"),
    "web-admin-user-leave": _iam("iam:RemoveUserFromGroup"),
    "web-admin-groups": _iam("iam:ListGroups"),
    "web-admin-group-create": _iam("iam:CreateGroup"),
    "web-admin-group": _iam("iam:GetGroup", "iam:ListAttachedGroupPolicies"),
    "web-admin-group-delete": _iam("iam:DeleteGroup"),
    "web-admin-group-attach": _iam("iam:AttachGroupPolicy"),
    "web-admin-group-detach": _iam("iam:DetachGroupPolicy"),
    "web-admin-group-add": _iam("iam:AddUserToGroup"),
    "web-admin-group-remove": _iam("iam:RemoveUserFromGroup"),
    "web-admin-policies": _iam("iam:ListPolicies"),
    "web-admin-policy-create": _iam("iam:CreatePolicy"),
    "web-admin-policy-new": _iam("iam:CreatePolicy"),
    "web-admin-policy": _iam("iam:GetPolicyVersion"),
    "web-admin-policy-update": _iam("iam:CreatePolicyVersion"),
    "web-admin-simulate": _iam("iam:SimulatePrincipalPolicy"),
    "web-admin-audit": _iam("cloudtrail:LookupEvents"),
}
