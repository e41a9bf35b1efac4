"""The schema revision this code expects: a constant apart from Alembic.

The CLI checks it on every command; importing Alembic (about 0.2 s) is left to the
commands that find the database behind it.
"""

from __future__ import annotations

# The newest revision; a unit test keeps it equal to Alembic's head.
HEAD_REVISION = "0012"
