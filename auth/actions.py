"""Every action a front end may ask the authorizer about: CodeCommit's, one `StrEnum`.

The names are IAM's (`codecommit:<Operation>` for each API operation of botocore's model,
plus `GitPull`/`GitPush` for the git protocol), so a typo fails at import, grep finds
every use, and policies written for CodeCommit name the same actions. The `iam:` ones
are the self-service actions the managed policies grant on `user/${aws:username}`
(`auth/policy/managed.py`): the web UI's settings pages ask them about a user's own SSH
keys, Git credentials and access keys, on the user's ARN. The administration ones
(users, groups, policies, simulation: IAM's names on IAM's ARNs `user/NAME`,
`group/NAME`, `policy/NAME`, or `user/*`, `group/*`, `policy/*` for a list) and
`cloudtrail:LookupEvents` (the audit log, as CloudTrail's) decide the web UI's admin
pages; `GitServerIAMFullAccess` grants them.

`gitserver:` actions are this server's own, for what no AWS service has: commit
statuses and the required status checks that gate merges (issue 13). They live in our
namespace rather than `codecommit:` so no policy written for AWS grants them by a
wildcard meant for AWS's actions, and no future AWS action can collide with them; the
managed policies grant them beside CodeCommit's (`auth/policy/managed.py`).
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """An IAM action of CodeCommit."""

    ASSOCIATE_APPROVAL_RULE_TEMPLATE_WITH_REPOSITORY = (
        "codecommit:AssociateApprovalRuleTemplateWithRepository"
    )
    BATCH_ASSOCIATE_APPROVAL_RULE_TEMPLATE_WITH_REPOSITORIES = (
        "codecommit:BatchAssociateApprovalRuleTemplateWithRepositories"
    )
    BATCH_DESCRIBE_MERGE_CONFLICTS = "codecommit:BatchDescribeMergeConflicts"
    BATCH_DISASSOCIATE_APPROVAL_RULE_TEMPLATE_FROM_REPOSITORIES = (
        "codecommit:BatchDisassociateApprovalRuleTemplateFromRepositories"
    )
    BATCH_GET_COMMITS = "codecommit:BatchGetCommits"
    BATCH_GET_REPOSITORIES = "codecommit:BatchGetRepositories"
    CREATE_APPROVAL_RULE_TEMPLATE = "codecommit:CreateApprovalRuleTemplate"
    CREATE_BRANCH = "codecommit:CreateBranch"
    CREATE_COMMIT = "codecommit:CreateCommit"
    CREATE_PULL_REQUEST = "codecommit:CreatePullRequest"
    CREATE_PULL_REQUEST_APPROVAL_RULE = "codecommit:CreatePullRequestApprovalRule"
    CREATE_REPOSITORY = "codecommit:CreateRepository"
    CREATE_UNREFERENCED_MERGE_COMMIT = "codecommit:CreateUnreferencedMergeCommit"
    DELETE_APPROVAL_RULE_TEMPLATE = "codecommit:DeleteApprovalRuleTemplate"
    DELETE_BRANCH = "codecommit:DeleteBranch"
    DELETE_COMMENT_CONTENT = "codecommit:DeleteCommentContent"
    DELETE_FILE = "codecommit:DeleteFile"
    DELETE_PULL_REQUEST_APPROVAL_RULE = "codecommit:DeletePullRequestApprovalRule"
    DELETE_REPOSITORY = "codecommit:DeleteRepository"
    DESCRIBE_MERGE_CONFLICTS = "codecommit:DescribeMergeConflicts"
    DESCRIBE_PULL_REQUEST_EVENTS = "codecommit:DescribePullRequestEvents"
    DISASSOCIATE_APPROVAL_RULE_TEMPLATE_FROM_REPOSITORY = (
        "codecommit:DisassociateApprovalRuleTemplateFromRepository"
    )
    EVALUATE_PULL_REQUEST_APPROVAL_RULES = "codecommit:EvaluatePullRequestApprovalRules"
    GET_APPROVAL_RULE_TEMPLATE = "codecommit:GetApprovalRuleTemplate"
    GET_BLOB = "codecommit:GetBlob"
    GET_BLOB_DIFFERENCES = "codecommit:GetBlobDifferences"
    GET_BRANCH = "codecommit:GetBranch"
    GET_COMMENT = "codecommit:GetComment"
    GET_COMMENT_REACTIONS = "codecommit:GetCommentReactions"
    GET_COMMENTS_FOR_COMPARED_COMMIT = "codecommit:GetCommentsForComparedCommit"
    GET_COMMENTS_FOR_PULL_REQUEST = "codecommit:GetCommentsForPullRequest"
    GET_COMMIT = "codecommit:GetCommit"
    GET_DIFFERENCES = "codecommit:GetDifferences"
    GET_FILE = "codecommit:GetFile"
    GET_FOLDER = "codecommit:GetFolder"
    GET_MERGE_COMMIT = "codecommit:GetMergeCommit"
    GET_MERGE_CONFLICTS = "codecommit:GetMergeConflicts"
    GET_MERGE_OPTIONS = "codecommit:GetMergeOptions"
    GET_PULL_REQUEST = "codecommit:GetPullRequest"
    GET_PULL_REQUEST_APPROVAL_STATES = "codecommit:GetPullRequestApprovalStates"
    GET_PULL_REQUEST_OVERRIDE_STATE = "codecommit:GetPullRequestOverrideState"
    GET_REPOSITORY = "codecommit:GetRepository"
    GET_REPOSITORY_TRIGGERS = "codecommit:GetRepositoryTriggers"
    GIT_PULL = "codecommit:GitPull"
    GIT_PUSH = "codecommit:GitPush"
    LIST_APPROVAL_RULE_TEMPLATES = "codecommit:ListApprovalRuleTemplates"
    LIST_ASSOCIATED_APPROVAL_RULE_TEMPLATES_FOR_REPOSITORY = (
        "codecommit:ListAssociatedApprovalRuleTemplatesForRepository"
    )
    LIST_BRANCHES = "codecommit:ListBranches"
    LIST_FILE_COMMIT_HISTORY = "codecommit:ListFileCommitHistory"
    LIST_PULL_REQUESTS = "codecommit:ListPullRequests"
    LIST_REPOSITORIES = "codecommit:ListRepositories"
    LIST_REPOSITORIES_FOR_APPROVAL_RULE_TEMPLATE = (
        "codecommit:ListRepositoriesForApprovalRuleTemplate"
    )
    LIST_TAGS_FOR_RESOURCE = "codecommit:ListTagsForResource"
    MERGE_BRANCHES_BY_FAST_FORWARD = "codecommit:MergeBranchesByFastForward"
    MERGE_BRANCHES_BY_SQUASH = "codecommit:MergeBranchesBySquash"
    MERGE_BRANCHES_BY_THREE_WAY = "codecommit:MergeBranchesByThreeWay"
    MERGE_PULL_REQUEST_BY_FAST_FORWARD = "codecommit:MergePullRequestByFastForward"
    MERGE_PULL_REQUEST_BY_SQUASH = "codecommit:MergePullRequestBySquash"
    MERGE_PULL_REQUEST_BY_THREE_WAY = "codecommit:MergePullRequestByThreeWay"
    OVERRIDE_PULL_REQUEST_APPROVAL_RULES = "codecommit:OverridePullRequestApprovalRules"
    POST_COMMENT_FOR_COMPARED_COMMIT = "codecommit:PostCommentForComparedCommit"
    POST_COMMENT_FOR_PULL_REQUEST = "codecommit:PostCommentForPullRequest"
    POST_COMMENT_REPLY = "codecommit:PostCommentReply"
    PUT_COMMENT_REACTION = "codecommit:PutCommentReaction"
    PUT_FILE = "codecommit:PutFile"
    PUT_REPOSITORY_TRIGGERS = "codecommit:PutRepositoryTriggers"
    TAG_RESOURCE = "codecommit:TagResource"
    TEST_REPOSITORY_TRIGGERS = "codecommit:TestRepositoryTriggers"
    UNTAG_RESOURCE = "codecommit:UntagResource"
    UPDATE_APPROVAL_RULE_TEMPLATE_CONTENT = "codecommit:UpdateApprovalRuleTemplateContent"
    UPDATE_APPROVAL_RULE_TEMPLATE_DESCRIPTION = "codecommit:UpdateApprovalRuleTemplateDescription"
    UPDATE_APPROVAL_RULE_TEMPLATE_NAME = "codecommit:UpdateApprovalRuleTemplateName"
    UPDATE_COMMENT = "codecommit:UpdateComment"
    UPDATE_DEFAULT_BRANCH = "codecommit:UpdateDefaultBranch"
    UPDATE_PULL_REQUEST_APPROVAL_RULE_CONTENT = "codecommit:UpdatePullRequestApprovalRuleContent"
    UPDATE_PULL_REQUEST_APPROVAL_STATE = "codecommit:UpdatePullRequestApprovalState"
    UPDATE_PULL_REQUEST_DESCRIPTION = "codecommit:UpdatePullRequestDescription"
    UPDATE_PULL_REQUEST_STATUS = "codecommit:UpdatePullRequestStatus"
    UPDATE_PULL_REQUEST_TITLE = "codecommit:UpdatePullRequestTitle"
    UPDATE_REPOSITORY_DESCRIPTION = "codecommit:UpdateRepositoryDescription"
    UPDATE_REPOSITORY_ENCRYPTION_KEY = "codecommit:UpdateRepositoryEncryptionKey"
    UPDATE_REPOSITORY_NAME = "codecommit:UpdateRepositoryName"

    # CodePipeline, decided on the pipeline's ARN `arn:aws:codepipeline:REGION:ACCOUNT:NAME`.
    CODEPIPELINE_CREATE_PIPELINE = "codepipeline:CreatePipeline"
    CODEPIPELINE_GET_PIPELINE = "codepipeline:GetPipeline"
    CODEPIPELINE_UPDATE_PIPELINE = "codepipeline:UpdatePipeline"
    CODEPIPELINE_DELETE_PIPELINE = "codepipeline:DeletePipeline"
    CODEPIPELINE_LIST_PIPELINES = "codepipeline:ListPipelines"
    CODEPIPELINE_START_PIPELINE_EXECUTION = "codepipeline:StartPipelineExecution"
    CODEPIPELINE_GET_PIPELINE_EXECUTION = "codepipeline:GetPipelineExecution"
    CODEPIPELINE_LIST_PIPELINE_EXECUTIONS = "codepipeline:ListPipelineExecutions"
    CODEPIPELINE_GET_PIPELINE_STATE = "codepipeline:GetPipelineState"
    CODEPIPELINE_PUT_APPROVAL_RESULT = "codepipeline:PutApprovalResult"
    CODEPIPELINE_RETRY_STAGE_EXECUTION = "codepipeline:RetryStageExecution"
    CODEPIPELINE_STOP_PIPELINE_EXECUTION = "codepipeline:StopPipelineExecution"
    CODEPIPELINE_LIST_ACTION_EXECUTIONS = "codepipeline:ListActionExecutions"

    # IAM self-service, decided on the user's own ARN (`Principal.arn`).
    IAM_LIST_SSH_PUBLIC_KEYS = "iam:ListSSHPublicKeys"
    IAM_UPLOAD_SSH_PUBLIC_KEY = "iam:UploadSSHPublicKey"
    IAM_UPDATE_SSH_PUBLIC_KEY = "iam:UpdateSSHPublicKey"
    IAM_DELETE_SSH_PUBLIC_KEY = "iam:DeleteSSHPublicKey"
    IAM_LIST_SERVICE_SPECIFIC_CREDENTIALS = "iam:ListServiceSpecificCredentials"
    IAM_CREATE_SERVICE_SPECIFIC_CREDENTIAL = "iam:CreateServiceSpecificCredential"
    IAM_UPDATE_SERVICE_SPECIFIC_CREDENTIAL = "iam:UpdateServiceSpecificCredential"
    IAM_DELETE_SERVICE_SPECIFIC_CREDENTIAL = "iam:DeleteServiceSpecificCredential"
    IAM_LIST_ACCESS_KEYS = "iam:ListAccessKeys"
    IAM_CREATE_ACCESS_KEY = "iam:CreateAccessKey"
    IAM_UPDATE_ACCESS_KEY = "iam:UpdateAccessKey"
    IAM_DELETE_ACCESS_KEY = "iam:DeleteAccessKey"

    # IAM administration (the admin pages), on IAM's ARNs or `*` for the lists.
    IAM_LIST_USERS = "iam:ListUsers"
    IAM_GET_USER = "iam:GetUser"
    IAM_CREATE_USER = "iam:CreateUser"
    IAM_CREATE_LOGIN_PROFILE = "iam:CreateLoginProfile"
    IAM_DELETE_USER = "iam:DeleteUser"
    IAM_LIST_GROUPS_FOR_USER = "iam:ListGroupsForUser"
    IAM_LIST_ATTACHED_USER_POLICIES = "iam:ListAttachedUserPolicies"
    IAM_ATTACH_USER_POLICY = "iam:AttachUserPolicy"
    IAM_DETACH_USER_POLICY = "iam:DetachUserPolicy"
    IAM_LIST_GROUPS = "iam:ListGroups"
    IAM_GET_GROUP = "iam:GetGroup"
    IAM_CREATE_GROUP = "iam:CreateGroup"
    IAM_DELETE_GROUP = "iam:DeleteGroup"
    IAM_ADD_USER_TO_GROUP = "iam:AddUserToGroup"
    IAM_REMOVE_USER_FROM_GROUP = "iam:RemoveUserFromGroup"
    IAM_LIST_ATTACHED_GROUP_POLICIES = "iam:ListAttachedGroupPolicies"
    IAM_ATTACH_GROUP_POLICY = "iam:AttachGroupPolicy"
    IAM_DETACH_GROUP_POLICY = "iam:DetachGroupPolicy"
    IAM_LIST_POLICIES = "iam:ListPolicies"
    IAM_GET_POLICY_VERSION = "iam:GetPolicyVersion"
    IAM_CREATE_POLICY = "iam:CreatePolicy"
    IAM_CREATE_POLICY_VERSION = "iam:CreatePolicyVersion"
    IAM_SIMULATE_PRINCIPAL_POLICY = "iam:SimulatePrincipalPolicy"
    CLOUDTRAIL_LOOKUP_EVENTS = "cloudtrail:LookupEvents"

    # This server's own, on the repository's ARN (see the module docstring).
    PUT_COMMIT_STATUS = "gitserver:PutCommitStatus"
    GET_COMMIT_STATUSES = "gitserver:GetCommitStatuses"
    UPDATE_REQUIRED_STATUS_CHECKS = "gitserver:UpdateRequiredStatusChecks"
    # Push protection (issue 14): changing a repository's rules, and pushing secrets
    # anyway (with the push option `secret_push_protection.skip_all`).
    UPDATE_PUSH_PROTECTION = "gitserver:UpdatePushProtection"
    BYPASS_PUSH_PROTECTION = "gitserver:BypassPushProtection"
