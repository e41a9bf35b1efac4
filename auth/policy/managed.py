"""The three managed policies, mirroring AWS's CodeCommit managed policies.

``GitServerFullAccess``, ``GitServerPowerUser`` and ``GitServerReadOnly`` carry the
CodeCommit action lists of ``AWSCodeCommitFullAccess``, ``AWSCodeCommitPowerUser`` and
``AWSCodeCommitReadOnly`` (CodeCommit UG "AWS managed policies for CodeCommit"), and the
same self-service IAM statements on ``arn:aws:iam::*:user/${aws:username}``: full access
and power users manage their own SSH public keys and Git credentials, read-only users
list and read them. Statements for services this server does not host (EventBridge, SNS,
Lambda, CodeStar Notifications, CodeGuru) are left out. This server's own
``gitserver:`` commit-status actions are added: full access all of them, power users
report and read statuses (not the required checks that gate merges), read-only read.

Pipelines (the ``codepipeline:`` actions, on ``arn:aws:codepipeline:REGION:ACCOUNT:NAME``)
follow AWS's CodePipeline managed policies: full access holds ``codepipeline:*``
(``AWSCodePipeline_FullAccess``), read-only ``codepipeline:Get*`` and ``codepipeline:List*``
(``AWSCodePipeline_ReadOnlyAccess``). AWS has no CodePipeline power-user policy; power
users get what its CodeCommit power user gets of repositories, everything but deleting:
``codepipeline:*`` less ``DeletePipeline`` (create, update, run, stop, retry, approve).

``GitServerIAMFullAccess`` is AWS's ``IAMFullAccess`` plus reading the audit log
(CloudTrail's ``LookupEvents``): the server's administration (users, groups, policies,
simulation, audit), which the CodeCommit policies do not grant. ``--admin`` users hold
it with ``GitServerFullAccess``; it can be attached to anyone else who administers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType

OWN_USER = "arn:aws:iam::*:user/${aws:username}"

_LIST_USERS: dict[str, object] = {
    "Sid": "IAMReadOnlyListAccess",
    "Effect": "Allow",
    "Action": ["iam:ListUsers"],
    "Resource": "*",
}
_READ_OWN_ACTIONS = [
    "iam:ListAccessKeys",
    "iam:ListSSHPublicKeys",
    "iam:ListServiceSpecificCredentials",
]
_READ_OWN: dict[str, object] = {
    "Sid": "IAMReadOnlyConsoleAccess",
    "Effect": "Allow",
    "Action": _READ_OWN_ACTIONS,
    "Resource": OWN_USER,
}
_OWN_SSH_KEYS: dict[str, object] = {
    "Sid": "IAMUserSSHKeys",
    "Effect": "Allow",
    "Action": [
        "iam:DeleteSSHPublicKey",
        "iam:GetSSHPublicKey",
        "iam:ListSSHPublicKeys",
        "iam:UpdateSSHPublicKey",
        "iam:UploadSSHPublicKey",
    ],
    "Resource": OWN_USER,
}
_OWN_GIT_CREDENTIALS: dict[str, object] = {
    "Sid": "IAMSelfManageServiceSpecificCredentials",
    "Effect": "Allow",
    "Action": [
        "iam:CreateServiceSpecificCredential",
        "iam:UpdateServiceSpecificCredential",
        "iam:DeleteServiceSpecificCredential",
        "iam:ResetServiceSpecificCredential",
    ],
    "Resource": OWN_USER,
}
_SELF_SERVICE = [_LIST_USERS, _READ_OWN, _OWN_SSH_KEYS, _OWN_GIT_CREDENTIALS]

_POWER_USER_ACTIONS = [
    "codecommit:AssociateApprovalRuleTemplateWithRepository",
    "codecommit:BatchAssociate*",
    "codecommit:BatchDisassociate*",
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
    # Commit statuses (this server's own actions): report and read, not the gate itself.
    "gitserver:PutCommitStatus",
    "gitserver:GetCommitStatuses",
    # Pipelines: all but deleting one (as the CodeCommit actions above: no DeleteRepository).
    "codepipeline:CreatePipeline",
    "codepipeline:UpdatePipeline",
    "codepipeline:Get*",
    "codepipeline:List*",
    "codepipeline:StartPipelineExecution",
    "codepipeline:StopPipelineExecution",
    "codepipeline:RetryStageExecution",
    "codepipeline:PutApprovalResult",
]
_READ_ONLY_ACTIONS = [
    "codecommit:BatchGet*",
    "codecommit:BatchDescribe*",
    "codecommit:Describe*",
    "codecommit:EvaluatePullRequestApprovalRules",
    "codecommit:Get*",
    "codecommit:List*",
    "codecommit:GitPull",
    "gitserver:GetCommitStatuses",
    # AWSCodePipeline_ReadOnlyAccess.
    "codepipeline:Get*",
    "codepipeline:List*",
]


def _document(sid: str, actions: list[str], extra: list[dict[str, object]]) -> str:
    statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement, *extra]}, indent=2)


MANAGED_POLICIES: Mapping[str, str] = MappingProxyType(
    {
        "GitServerFullAccess": _document(
            "CodeCommitFullAccess",
            [
                "codecommit:*",
                "gitserver:PutCommitStatus",
                "gitserver:GetCommitStatuses",
                "gitserver:UpdateRequiredStatusChecks",
                # Not gitserver:BypassPushProtection: pushing secrets is granted one by one.
                "gitserver:UpdatePushProtection",
                # AWSCodePipeline_FullAccess.
                "codepipeline:*",
            ],
            _SELF_SERVICE,
        ),
        "GitServerPowerUser": _document("CodeCommitPowerUser", _POWER_USER_ACTIONS, _SELF_SERVICE),
        "GitServerIAMFullAccess": _document(
            "IAMFullAccess",
            ["iam:*"],
            [
                {
                    "Sid": "AuditLogRead",
                    "Effect": "Allow",
                    "Action": ["cloudtrail:LookupEvents"],
                    "Resource": "*",
                }
            ],
        ),
        "GitServerReadOnly": _document(
            "CodeCommitReadOnly",
            _READ_ONLY_ACTIONS,
            [_LIST_USERS, {**_READ_OWN, "Action": [*_READ_OWN_ACTIONS, "iam:GetSSHPublicKey"]}],
        ),
    }
)
"""Managed policy name -> JSON document (Version 2012-10-17)."""
