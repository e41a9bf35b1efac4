"""Errors of the repository store.

StoreError
├── RepositoryNotFound      no repository by that name
├── RepositoryExists        the name is taken
├── InvalidRepositoryName   breaks CodeCommit's naming rules
└── InvalidDescription      too long or not text
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
