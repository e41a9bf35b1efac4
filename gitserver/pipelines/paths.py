"""Where pipelines keep files: DATA/pipelines/{artifacts,logs,workspaces,caches}.

Pipeline, stage and action names may be `..` (botocore's pattern allows dots), so no
path is built from a name: artifacts and logs are filed by execution and action
execution ids (UUIDs), caches by a hash of the names. The data dir is private (the
server's umask is 077); builds see only their own workspace (the sandbox).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Layout:
    """The pipelines directory of one data dir."""

    root: Path

    @classmethod
    def of(cls, data_dir: Path) -> Layout:
        """The layout under `data_dir` (DATA/pipelines)."""
        return cls(data_dir.resolve() / "pipelines")

    def artifacts(self, execution_id: str) -> Path:
        """The directory of an execution's artifact zips (`<ArtifactName>.zip`)."""
        return self.root / "artifacts" / execution_id

    def log(self, execution_id: str, action_execution_id: str) -> Path:
        """The log file of one action attempt."""
        return self.root / "logs" / execution_id / f"{action_execution_id}.log"

    def workspace(self, job_id: str) -> Path:
        """The scratch directory of one job (removed when it ends)."""
        return self.root / "workspaces" / job_id

    def cache(self, pipeline: str, stage: str, action: str) -> Path:
        """The `cache.paths` directory kept between builds of one action."""
        key = hashlib.sha256(f"{pipeline}\0{stage}\0{action}".encode()).hexdigest()[:32]
        return self.root / "caches" / key

    def relative(self, path: Path) -> str:
        """`path` relative to the pipelines directory, as stored in rows."""
        return str(path.relative_to(self.root))

    def absolute(self, stored: str) -> Path:
        """A stored relative path, back under the pipelines directory."""
        return self.root / stored
