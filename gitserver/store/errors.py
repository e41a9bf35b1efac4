"""Errors of the repository store.

Each carries `aws_type`, the CodeCommit exception name an API caller sees for it (the
CLI and the git front ends show only the message).

StoreError
├── RepositoryNotFound              no repository by that name
├── RepositoryExists                the name is taken
├── InvalidRepositoryName           breaks CodeCommit's naming rules
├── InvalidDescription              too long or not text
├── BranchNotFound                  no branch by that name
├── BranchExists                    the branch name is taken
├── InvalidBranchName               breaks the branch naming rules
├── DefaultBranchCannotBeDeleted    the default branch stays while it is the default
├── CommitNotFound                  no commit by that id
├── InvalidCommitId                 not a full commit id
├── RefMoved                        a compare-and-swap found the ref changed
└── TagError                        a tagging request breaks CodeCommit's rules
    ├── TooManyTagsException            more than 50 tags on the repository
    ├── InvalidTagsMapException         a bad key or value, a duplicate, no tags at all
    ├── InvalidSystemTagUsageException  a key starting with aws:
    ├── TagKeysListRequiredException    untag with no keys
    └── InvalidTagKeysListException     a key that cannot be a tag key
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class; messages are safe to show to clients."""

    aws_type = "InvalidParameterException"


class RepositoryNotFound(StoreError):
    aws_type = "RepositoryDoesNotExistException"


class RepositoryExists(StoreError):
    aws_type = "RepositoryNameExistsException"


class InvalidRepositoryName(StoreError):
    aws_type = "InvalidRepositoryNameException"


class InvalidDescription(StoreError):
    aws_type = "InvalidRepositoryDescriptionException"


class BranchNotFound(StoreError):
    aws_type = "BranchDoesNotExistException"


class BranchExists(StoreError):
    aws_type = "BranchNameExistsException"


class InvalidBranchName(StoreError):
    aws_type = "InvalidBranchNameException"


class DefaultBranchCannotBeDeleted(StoreError):
    aws_type = "DefaultBranchCannotBeDeletedException"


class CommitNotFound(StoreError):
    aws_type = "CommitDoesNotExistException"


class InvalidCommitId(StoreError):
    aws_type = "InvalidCommitIdException"


class RefMoved(StoreError):
    aws_type = "ConcurrentReferenceUpdateException"


class TagError(StoreError):
    """A TagResource/UntagResource request CodeCommit would refuse."""

    aws_type = "InvalidTagsMapException"


class TooManyTagsException(TagError):
    aws_type = "TooManyTagsException"


class InvalidTagsMapException(TagError):
    aws_type = "InvalidTagsMapException"


class InvalidSystemTagUsageException(TagError):
    aws_type = "InvalidSystemTagUsageException"


class TagKeysListRequiredException(TagError):
    aws_type = "TagKeysListRequiredException"


class InvalidTagKeysListException(TagError):
    aws_type = "InvalidTagKeysListException"
