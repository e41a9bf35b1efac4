"""Errors of pipeline executions and the secret store; `aws_type` is CodePipeline's name.

Bad input that the definitions package already names (a source naming no repository
here, a malformed secret name) is raised as its errors: InvalidActionDeclaration,
PipelineValidation.

PipelineError                          (package base, never raised itself)
├── PipelineNotFound                   (NotFound) PipelineNotFoundException
├── PipelineExecutionNotFound          (NotFound) PipelineExecutionNotFoundException
├── StageNotFound                      (NotFound) StageNotFoundException
├── ActionNotFound                     (NotFound) ActionNotFoundException
├── SecretNotFound                     (NotFound) ResourceNotFoundException
├── PipelineNameInUse                  (AlreadyExists) PipelineNameInUseException
├── InvalidApprovalToken               (InvalidInput) InvalidApprovalTokenException
├── ApprovalAlreadyCompleted           (Conflict) ApprovalAlreadyCompletedException
├── StageNotRetryable                  (Conflict) StageNotRetryableException
├── PipelineExecutionNotStoppable      (Conflict) PipelineExecutionNotStoppableException
├── DuplicatedStopRequest              (Conflict) DuplicatedStopRequestException
└── PipelineConflict                   (Conflict) ConflictException
"""

from __future__ import annotations

from gitserver.errors import AlreadyExists, Conflict, DomainError, InvalidInput, NotFound


class PipelineError(DomainError):
    """Base class of the pipeline engine's errors (raise a subclass)."""


class PipelineNotFound(PipelineError, NotFound):
    aws_type = "PipelineNotFoundException"


class PipelineExecutionNotFound(PipelineError, NotFound):
    aws_type = "PipelineExecutionNotFoundException"


class StageNotFound(PipelineError, NotFound):
    aws_type = "StageNotFoundException"


class ActionNotFound(PipelineError, NotFound):
    aws_type = "ActionNotFoundException"


class SecretNotFound(PipelineError, NotFound):
    aws_type = "ResourceNotFoundException"


class PipelineNameInUse(PipelineError, AlreadyExists):
    aws_type = "PipelineNameInUseException"


class InvalidApprovalToken(PipelineError, InvalidInput):
    aws_type = "InvalidApprovalTokenException"


class ApprovalAlreadyCompleted(PipelineError, Conflict):
    aws_type = "ApprovalAlreadyCompletedException"


class StageNotRetryable(PipelineError, Conflict):
    aws_type = "StageNotRetryableException"


class PipelineExecutionNotStoppable(PipelineError, Conflict):
    aws_type = "PipelineExecutionNotStoppableException"


class DuplicatedStopRequest(PipelineError, Conflict):
    aws_type = "DuplicatedStopRequestException"


class PipelineConflict(PipelineError, Conflict):
    aws_type = "ConflictException"
