"""Errors of the repository store.

StoreError
├── RepositoryNotFound      no repository by that name
├── RepositoryExists        the name is taken
├── InvalidRepositoryName   breaks CodeCommit's naming rules
├── InvalidDescription      too long or not text
└── TagError                a tagging request breaks CodeCommit's rules; `code` is the
    │                       AWS exception name the CodeCommit API answers with
    ├── TooManyTagsException            more than 50 tags on the repository
    ├── InvalidTagsMapException         a bad key or value, a duplicate, no tags at all
    ├── InvalidSystemTagUsageException  a key starting with aws:
    ├── TagKeysListRequiredException    untag with no keys
    └── InvalidTagKeysListException     a key that cannot be a tag key
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class; messages are safe to show to clients."""


class RepositoryNotFound(StoreError):
    pass


class RepositoryExists(StoreError):
    pass


class InvalidRepositoryName(StoreError):
    pass


class InvalidDescription(StoreError):
    pass


class TagError(StoreError):
    """A TagResource/UntagResource request CodeCommit would refuse."""

    code = "InvalidTagsMapException"


class TooManyTagsException(TagError):
    code = "TooManyTagsException"


class InvalidTagsMapException(TagError):
    code = "InvalidTagsMapException"


class InvalidSystemTagUsageException(TagError):
    code = "InvalidSystemTagUsageException"


class TagKeysListRequiredException(TagError):
    code = "TagKeysListRequiredException"


class InvalidTagKeysListException(TagError):
    code = "InvalidTagKeysListException"
