from __future__ import annotations

from alembic.script import ScriptDirectory

from gitserver.db.migrate import HEAD_REVISION, alembic_config


def test_head_revision_constant_matches_alembic() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION
