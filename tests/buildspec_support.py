"""Running buildspecs in tests: one call per build, real processes, a few hundred ms each."""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitserver.pipelines.buildspec import (
    BuildLimits,
    BuildRequest,
    BuildResult,
    Executor,
    Network,
    SourceInfo,
    WebhookInfo,
    executor_for,
    parse_buildspec,
    run_build,
)

# Fast failures: a stuck build fails the test in seconds, not in an hour.
TEST_LIMITS = BuildLimits(total_timeout=30.0, memory_bytes=1024 * 1024 * 1024)


@dataclass
class Builds:
    """Runs builds under one temporary directory; `workspace` is the next build's source."""

    root: Path
    executor: Executor = field(default_factory=lambda: executor_for("bwrap"))
    count: int = 0

    def __post_init__(self) -> None:
        self.workspace.mkdir(parents=True, exist_ok=True)

    @property
    def workspace(self) -> Path:
        return self.root / "src"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    def log_path(self) -> Path:
        return self.root / f"build-{self.count}.log"

    def request(
        self,
        *,
        limits: BuildLimits = TEST_LIMITS,
        secrets: Mapping[str, str] | None = None,
        environment: Mapping[str, str] | None = None,
        cache_dir: Path | None = None,
        webhook: WebhookInfo | None = None,
        source_version: str = "refs/heads/main",
    ) -> BuildRequest:
        self.count += 1
        return BuildRequest(
            build_id=f"project:build-{self.count}",
            build_number=self.count,
            workspace=self.workspace,
            log_path=self.log_path(),
            artifacts_dir=self.artifacts,
            source=SourceInfo("0123abcd" * 5, source_version, "https://git.example/v1/repos/r"),
            initiator="codepipeline/demo",
            webhook=webhook,
            build_arn="arn:aws:codebuild:us-east-1:123456789012:build/project:1",
            environment=environment or {},
            secrets=secrets or {},
            cache_dir=cache_dir,
            limits=limits,
        )

    def run(self, text: str, **options: object) -> tuple[BuildResult, str]:
        """Run the buildspec `text`; the result and the whole log."""
        request = self.request(**options)  # type: ignore[arg-type]
        result = asyncio.run(run_build(parse_buildspec(text), request, self.executor))
        return result, request.log_path.read_text()

    def with_network(self, network: Network) -> Builds:
        return Builds(self.root, executor_for("bwrap", network=network), self.count)


def output_lines(log: str) -> list[str]:
    """The build's own output: the log without the runner's `[Container]` lines."""
    return [line for line in log.splitlines() if not line.startswith("[Container] ")]


def zip_contents(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
