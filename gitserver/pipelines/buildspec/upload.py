"""The end of a build: exported variables, UPLOAD_ARTIFACTS, the cache, the reports.

Zipping and copying run in a thread; their log lines are gathered there and written
after, so the log file keeps one writer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from datetime import UTC, datetime

from gitserver.pipelines.buildspec import artifacts as packing
from gitserver.pipelines.buildspec import cache
from gitserver.pipelines.buildspec.buildlog import BuildLog
from gitserver.pipelines.buildspec.reports import read_group
from gitserver.pipelines.buildspec.request import BuildRequest
from gitserver.pipelines.buildspec.result import (
    ArtifactResult,
    BuildStatus,
    PhaseResult,
    ReportResult,
)
from gitserver.pipelines.buildspec.shellrun import BuildShell
from gitserver.pipelines.buildspec.spec import ArtifactSpec, Buildspec


class Uploader:
    """Collects what a build leaves behind, through its shell and on the host."""

    def __init__(
        self,
        spec: Buildspec,
        request: BuildRequest,
        shell: BuildShell,
        build_log: BuildLog,
        results: list[PhaseResult],
    ) -> None:
        self._spec = spec
        self._request = request
        self._shell = shell
        self._log = build_log
        self._results = results
        self.artifacts: tuple[ArtifactResult, ...] = ()

    async def exported_variables(self) -> dict[str, str]:
        """The values of `env.exported-variables` in the shell now (unset ones are left out)."""
        names = self._spec.env.exported_variables
        if not names:
            return {}
        # Names are validated identifiers; base64 keeps newlines and odd bytes intact.
        script = "\n".join(
            f'if [ "${{{name}+x}}" = x ]; then printf "%s " {name}; '
            f'printf "%s" "${name}" | base64 | tr -d "\\n"; echo; fi'
            for name in names
        )
        _, output = await self._shell.run(script, capture=True)
        values: dict[str, str] = {}
        for line in output.decode("ascii", "replace").splitlines():
            name, _, encoded = line.partition(" ")
            if name in names:
                try:
                    values[name] = base64.b64decode(encoded).decode("utf-8", "replace")
                except binascii.Error:
                    continue
        return values

    async def upload_artifacts(self) -> bool:
        """UPLOAD_ARTIFACTS: zip every artifact; whether all were written."""
        specs = [s for s in (self._spec.artifacts, *self._spec.secondary_artifacts) if s]
        started, clock = datetime.now(UTC), time.monotonic()
        self._log.container("Entering phase UPLOAD_ARTIFACTS")
        written: list[ArtifactResult] = []
        problems: list[str] = []
        for spec in specs:
            identifier = spec.identifier or self._request.primary_artifact
            name = await self._evaluate_name(spec) if spec.name else identifier
            target = self._request.artifacts_dir / f"{identifier}.zip"
            notes: list[str] = []
            packed = await asyncio.to_thread(
                packing.pack, spec, self._request.workspace, target, notes.append
            )
            for note in notes:
                self._log.container(note)
            if packed.path is None:
                problems.append(f"{identifier}: {packed.problem}")
                self._log.container(f"Artifact {identifier}: {packed.problem}")
                continue
            self._log.container(f"Artifact {identifier}: {packed.files} files in {name}")
            written.append(ArtifactResult(identifier, packed.path, name, packed.files))
        self.artifacts = tuple(written)
        status = BuildStatus.FAILED if problems else BuildStatus.SUCCEEDED
        duration = time.monotonic() - clock
        message = "; ".join(problems)
        self._results.append(PhaseResult("UPLOAD_ARTIFACTS", status, started, duration, 1, message))
        self._log.container(f"Phase complete: UPLOAD_ARTIFACTS State: {status}")
        return not problems

    async def _evaluate_name(self, spec: ArtifactSpec) -> str:
        # CodeBuild evaluates `name` in the build's shell: `build-$(date +%F)` works.
        assert spec.name is not None
        escaped = spec.name.replace("\\", "\\\\").replace('"', '\\"')
        status, output = await self._shell.run(f'printf "%s" "{escaped}"', capture=True)
        text = output.decode("utf-8", "replace").strip()
        return text if status == 0 and text else spec.name

    async def restore_cache(self) -> None:
        """Bring back the cached paths before INSTALL."""
        if self._spec.cache is None or self._request.cache_dir is None:
            return
        count = await asyncio.to_thread(
            cache.restore, self._request.cache_dir, self._request.workspace
        )
        self._log.container(f"Restored {count} cached files")

    async def save_cache(self) -> None:
        """Keep the cached paths for the next build."""
        if self._spec.cache is None or self._request.cache_dir is None:
            return
        count = await asyncio.to_thread(
            cache.save, self._spec.cache, self._request.workspace, self._request.cache_dir
        )
        self._log.container(f"Saved {count} files to the cache")

    def read_reports(self) -> tuple[ReportResult, ...]:
        """The report groups' counts."""
        results = tuple(read_group(g, self._request.workspace) for g in self._spec.reports)
        for report in results:
            self._log.container(
                f"Report {report.group}: {report.passed} passed, {report.failed} failed, "
                f"{report.skipped} skipped{'; ' + report.message if report.message else ''}"
            )
        return results
