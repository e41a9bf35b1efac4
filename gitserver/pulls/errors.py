"""Errors of pull requests, comments, approvals and templates; `aws_type` is the model's name.

Each class is a `PullRequestError` (a `StoreError`, so every front end already maps it)
and exactly one category of `gitserver.errors`.
"""

from __future__ import annotations

from gitserver.errors import (
    AccessDenied,
    AlreadyExists,
    Conflict,
    DomainError,
    InvalidInput,
    LimitExceeded,
    NotFound,
)
from gitserver.store.errors import StoreError


class PullRequestError(StoreError):
    """Base class of pull-request errors (raise a subclass)."""


def _error(name: str, category: type[DomainError]) -> type[PullRequestError]:
    return type(name.removesuffix("Exception"), (PullRequestError, category), {"aws_type": name})


PullRequestNotFound = _error("PullRequestDoesNotExistException", NotFound)
InvalidPullRequestId = _error("InvalidPullRequestIdException", InvalidInput)
TitleRequired = _error("TitleRequiredException", InvalidInput)
InvalidTitle = _error("InvalidTitleException", InvalidInput)
InvalidDescription = _error("InvalidDescriptionException", InvalidInput)
TargetsRequired = _error("TargetsRequiredException", InvalidInput)
InvalidTargets = _error("InvalidTargetsException", InvalidInput)
MultipleRepositories = _error("MultipleRepositoriesInPullRequestException", InvalidInput)
ReferenceNameRequired = _error("ReferenceNameRequiredException", InvalidInput)
InvalidReferenceName = _error("InvalidReferenceNameException", InvalidInput)
ReferenceNotFound = _error("ReferenceDoesNotExistException", NotFound)
ReferenceTypeNotSupported = _error("ReferenceTypeNotSupportedException", InvalidInput)
SourceAndDestinationAreSame = _error("SourceAndDestinationAreSameException", InvalidInput)
MaximumOpenPullRequests = _error("MaximumOpenPullRequestsExceededException", LimitExceeded)
InvalidClientRequestToken = _error("InvalidClientRequestTokenException", InvalidInput)
IdempotencyMismatch = _error("IdempotencyParameterMismatchException", Conflict)
InvalidStatus = _error("InvalidPullRequestStatusException", InvalidInput)
InvalidStatusUpdate = _error("InvalidPullRequestStatusUpdateException", Conflict)
AlreadyClosed = _error("PullRequestAlreadyClosedException", Conflict)
InvalidEventType = _error("InvalidPullRequestEventTypeException", InvalidInput)
InvalidActorArn = _error("InvalidActorArnException", InvalidInput)
InvalidAuthorArn = _error("InvalidAuthorArnException", InvalidInput)
InvalidContinuationToken = _error("InvalidContinuationTokenException", InvalidInput)
InvalidRevisionId = _error("InvalidRevisionIdException", InvalidInput)
RevisionNotCurrent = _error("RevisionNotCurrentException", Conflict)
InvalidApprovalState = _error("InvalidApprovalStateException", InvalidInput)
CannotApproveOwn = _error("PullRequestCannotBeApprovedByAuthorException", InvalidInput)
MaximumApprovals = _error("MaximumNumberOfApprovalsExceededException", LimitExceeded)
InvalidOverrideStatus = _error("InvalidOverrideStatusException", InvalidInput)
OverrideAlreadySet = _error("OverrideAlreadySetException", Conflict)
ApprovalRuleNotFound = _error("ApprovalRuleDoesNotExistException", NotFound)
ApprovalRuleNameExists = _error("ApprovalRuleNameAlreadyExistsException", Conflict)
InvalidApprovalRuleName = _error("InvalidApprovalRuleNameException", InvalidInput)
NumberOfRulesExceeded = _error("NumberOfRulesExceededException", LimitExceeded)
InvalidRuleContentSha256 = _error("InvalidRuleContentSha256Exception", Conflict)
CannotModifyTemplateRule = _error("CannotModifyApprovalRuleFromTemplateException", Conflict)
CannotDeleteTemplateRule = _error("CannotDeleteApprovalRuleFromTemplateException", Conflict)
RepositoryNotAssociated = _error("RepositoryNotAssociatedWithPullRequestException", InvalidInput)
TipOfSourceIsDifferent = _error("TipOfSourceReferenceIsDifferentException", Conflict)
RulesNotSatisfied = _error("PullRequestApprovalRulesNotSatisfiedException", Conflict)

# -- approvals, approval rules and approval rule templates (rules.py, templates.py) ------
InvalidApprovalRuleContent = _error("InvalidApprovalRuleContentException", InvalidInput)
InvalidApprovalRuleTemplateContent = _error(
    "InvalidApprovalRuleTemplateContentException", InvalidInput
)
TemplateNotFound = _error("ApprovalRuleTemplateDoesNotExistException", NotFound)
TemplateNameExists = _error("ApprovalRuleTemplateNameAlreadyExistsException", AlreadyExists)
InvalidTemplateName = _error("InvalidApprovalRuleTemplateNameException", InvalidInput)
InvalidTemplateDescription = _error("InvalidApprovalRuleTemplateDescriptionException", InvalidInput)
NumberOfTemplatesExceeded = _error("NumberOfRuleTemplatesExceededException", LimitExceeded)
TemplateInUse = _error("ApprovalRuleTemplateInUseException", Conflict)
MaximumTemplatesAssociated = _error(
    "MaximumRuleTemplatesAssociatedWithRepositoryException", LimitExceeded
)
# -- comments and reactions (pulls/comments.py, pulls/reactions.py) ----------------------
# Paths and commits use the content and store errors (PathRequired, InvalidPath,
# PathNotFound, CommitNotFound, InvalidCommitId): one class per AWS name.
CommentNotFound = _error("CommentDoesNotExistException", NotFound)
CommentDeleted = _error("CommentDeletedException", Conflict)
CommentIdRequired = _error("CommentIdRequiredException", InvalidInput)
InvalidCommentId = _error("InvalidCommentIdException", InvalidInput)
CommentContentRequired = _error("CommentContentRequiredException", InvalidInput)
CommentContentTooLarge = _error("CommentContentSizeLimitExceededException", LimitExceeded)
# Only the author may edit a comment, whatever the caller's policy allows.
CommentNotByCaller = _error("CommentNotCreatedByCallerException", AccessDenied)
InvalidFileLocation = _error("InvalidFileLocationException", InvalidInput)
InvalidRelativeFileVersion = _error("InvalidRelativeFileVersionEnumException", InvalidInput)
InvalidFilePosition = _error("InvalidFilePositionException", InvalidInput)
CommitIdRequired = _error("CommitIdRequiredException", InvalidInput)
SameBeforeAndAfter = _error("BeforeCommitIdAndAfterCommitIdAreSameException", InvalidInput)
ReactionValueRequired = _error("ReactionValueRequiredException", InvalidInput)
InvalidReactionValue = _error("InvalidReactionValueException", InvalidInput)
ReactionLimitExceeded = _error("ReactionLimitExceededException", LimitExceeded)
InvalidReactionUserArn = _error("InvalidReactionUserArnException", InvalidInput)
