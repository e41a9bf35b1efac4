"""Which leftover quarantines the sweep removes: git's (a killed receive-pack) and the
server's own (a killed API write), all at start, or by age; nothing else."""

from __future__ import annotations

import os
import time
from pathlib import Path

from gitserver.content.packs import QUARANTINE_PREFIX
from gitserver.store.quarantine import PREFIX, remove_stale_quarantines, sweep


def _repository(root: Path, name: str) -> Path:
    repository = root / f"{name}.git"
    (repository / "objects" / "pack").mkdir(parents=True)
    return repository


def _quarantine(repository: Path, prefix: str, age: float = 0.0) -> Path:
    directory = repository / "objects" / f"{prefix}abc123"
    (directory / "pack").mkdir(parents=True)
    (directory / "pack" / "tmp_pack_x").write_bytes(b"PACK")
    if age:
        past = time.time() - age
        for path in (directory / "pack" / "tmp_pack_x", directory / "pack", directory):
            os.utime(path, (past, past))
    return directory


def test_both_kinds_of_leftover_go_at_start_and_the_repository_stays(tmp_path: Path) -> None:
    repository = _repository(tmp_path, "r")
    pushed = _quarantine(repository, PREFIX)
    written = _quarantine(repository, QUARANTINE_PREFIX)
    assert sweep(tmp_path, None) == 2
    assert not pushed.exists() and not written.exists()
    assert (repository / "objects" / "pack").is_dir()


def test_by_age_only_the_old_ones_go(tmp_path: Path) -> None:
    repository = _repository(tmp_path, "r")
    old = _quarantine(repository, QUARANTINE_PREFIX, age=3600)
    fresh = repository / "objects" / f"{PREFIX}fresh"
    (fresh / "pack").mkdir(parents=True)
    assert remove_stale_quarantines(repository, older_than=600) == 1
    assert not old.exists() and fresh.exists()
