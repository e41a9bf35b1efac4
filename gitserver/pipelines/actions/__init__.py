"""Action providers run by a runner: one coroutine per (category, provider)."""

from __future__ import annotations

from gitserver.pipelines.actions.build import run_codebuild, run_script
from gitserver.pipelines.actions.context import Job, Provider, RunnerServices
from gitserver.pipelines.actions.source import run_source
from gitserver.pipelines.actions.webhook import run_webhook

PROVIDERS: dict[tuple[str, str], Provider] = {
    ("Source", "CodeCommit"): run_source,
    ("Build", "CodeBuild"): run_codebuild,
    ("Test", "CodeBuild"): run_codebuild,
    ("Deploy", "Script"): run_script,
    ("Invoke", "Webhook"): run_webhook,
}

__all__ = ["PROVIDERS", "Job", "Provider", "RunnerServices"]
