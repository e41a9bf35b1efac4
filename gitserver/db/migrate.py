"""Alembic, driven from code: migrations run at start and from `gitserver db upgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from gitserver.db.revision import HEAD_REVISION

MIGRATIONS = Path(__file__).parent / "migrations"
__all__ = ["HEAD_REVISION", "MIGRATIONS", "alembic_config", "upgrade"]


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection) -> None:
    """Upgrade the database behind `connection` to the newest revision."""
    command.upgrade(alembic_config(connection), "head")
