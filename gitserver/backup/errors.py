"""The one error backup and restore raise: its message is the operator's one line."""

from __future__ import annotations


class BackupError(Exception):
    """A backup or restore cannot be made as asked; nothing was changed at the target
    except, for a failed backup, the partial DEST (which has no manifest)."""
