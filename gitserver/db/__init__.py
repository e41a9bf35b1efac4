"""Metadata store: models, engine, migrations."""

from gitserver.db.engine import Database
from gitserver.db.models import (
    AccessKey,
    Base,
    EventRow,
    GitCredential,
    Group,
    GroupMember,
    Ref,
    RefUpdate,
    Repository,
    SSHPublicKey,
    User,
    utcnow,
)

__all__ = [
    "AccessKey",
    "Base",
    "Database",
    "EventRow",
    "GitCredential",
    "Group",
    "GroupMember",
    "Ref",
    "RefUpdate",
    "Repository",
    "SSHPublicKey",
    "User",
    "utcnow",
]
