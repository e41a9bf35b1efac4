"""Errors of the repository store; each is also one category of `gitserver.errors`.

Each carries `aws_type`, the CodeCommit exception name an API caller sees for it (the
CLI and the git front ends show only the message); an instance may name its own
(`CommitNotFound(..., aws_type="CommitIdDoesNotExistException")` for GetCommit).

StoreError
├── RepositoryNotFound              (NotFound) no repository by that name
├── RepositoryExists                (AlreadyExists) the name is taken
├── InvalidRepositoryName           (InvalidInput) breaks CodeCommit's naming rules
├── InvalidDescription              (InvalidInput) too long or not text
├── BranchNotFound                  (NotFound) no branch by that name
├── BranchExists                    (AlreadyExists) the branch name is taken
├── InvalidBranchName               (InvalidInput) breaks the branch naming rules
├── DefaultBranchCannotBeDeleted    (Conflict) the default branch stays while it is the default
├── CommitNotFound                  (NotFound) no commit by that id or name
├── InvalidCommitId                 (InvalidInput) not a full commit id
├── RefMoved                        (Conflict) a compare-and-swap found the ref changed
├── TagError                        a tagging request breaks CodeCommit's rules
│   ├── TooManyTagsException            (LimitExceeded) more than 50 tags on the repository
│   ├── InvalidTagsMapException         (InvalidInput) a bad key or value, a duplicate, no tags
│   ├── InvalidSystemTagUsageException  (InvalidInput) a key starting with aws:
│   ├── TagKeysListRequiredException    (InvalidInput) untag with no keys
│   └── InvalidTagKeysListException     (InvalidInput) a key that cannot be a tag key
└── ContentError                    reading and writing content (`gitserver/content/errors.py`)
"""

from __future__ import annotations

from gitserver.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    InvalidInput,
    LimitExceeded,
    NotFound,
)


class StoreError(DomainError):
    """Base class; messages are safe to show to clients."""


class RepositoryNotFound(StoreError, NotFound):
    aws_type = "RepositoryDoesNotExistException"


class RepositoryExists(StoreError, AlreadyExists):
    aws_type = "RepositoryNameExistsException"


class InvalidRepositoryName(StoreError, InvalidInput):
    aws_type = "InvalidRepositoryNameException"


class InvalidDescription(StoreError, InvalidInput):
    aws_type = "InvalidRepositoryDescriptionException"


class BranchNotFound(StoreError, NotFound):
    aws_type = "BranchDoesNotExistException"


class BranchExists(StoreError, AlreadyExists):
    aws_type = "BranchNameExistsException"


class InvalidBranchName(StoreError, InvalidInput):
    aws_type = "InvalidBranchNameException"


class DefaultBranchCannotBeDeleted(StoreError, Conflict):
    aws_type = "DefaultBranchCannotBeDeletedException"


class CommitNotFound(StoreError, NotFound):
    aws_type = "CommitDoesNotExistException"


class InvalidCommitId(StoreError, InvalidInput):
    aws_type = "InvalidCommitIdException"


class RefMoved(StoreError, Conflict):
    aws_type = "ConcurrentReferenceUpdateException"


class TagError(StoreError):
    """A TagResource/UntagResource request CodeCommit would refuse (raise a subclass)."""


class TooManyTagsException(TagError, LimitExceeded):
    aws_type = "TooManyTagsException"


class InvalidTagsMapException(TagError, InvalidInput):
    aws_type = "InvalidTagsMapException"


class InvalidSystemTagUsageException(TagError, InvalidInput):
    aws_type = "InvalidSystemTagUsageException"


class TagKeysListRequiredException(TagError, InvalidInput):
    aws_type = "TagKeysListRequiredException"


class InvalidTagKeysListException(TagError, InvalidInput):
    aws_type = "InvalidTagKeysListException"
