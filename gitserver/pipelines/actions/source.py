"""Source `CodeCommit`: the exact commit as a zip artifact, and its variables."""

from __future__ import annotations

import asyncio
import shutil

from gitserver.gitcmd import GitError, user_value
from gitserver.pipelines.actions.context import Job, RunnerServices
from gitserver.pipelines.jobs import Outcome
from gitserver.pipelines.states import ActionStatus

_FORMAT = "%H%x00%aI%x00%cI%x00%B"


async def run_source(services: RunnerServices, job: Job) -> Outcome:
    """Export the commit of the execution's source into each output artifact."""
    source = job.source
    commit, repository = str(source.get("commitId", "")), str(source.get("repository", ""))
    if not commit:
        reason = f"Branch {source.get('branch')} of repository {repository} does not exist"
        job.log(reason)
        return Outcome(ActionStatus.FAILED, reason)
    repo = services.repository_path(str(source.get("repositoryId", "")))
    directory = services.layout.artifacts(job.execution_id)
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    artifacts: dict[str, str] = {}
    outputs = [str(name) for name in job.payload.get("outputs", [])]
    try:
        # One `git archive` for every output, alongside the commit's metadata: the two
        # git processes run at once (the export is on the push -> build start path).
        exported = directory / f".{job.id}.zip.partial"
        archive = (
            services.git.run(
                "archive", "--format=zip", f"--output={exported}", user_value(commit), repo=repo
            )
            if outputs
            else None
        )
        shown, _ = await asyncio.gather(
            services.git.run(
                "log", "-1", f"--format={_FORMAT}", user_value(commit), "--", repo=repo
            ),
            archive if archive is not None else asyncio.sleep(0),
        )
        for i, name in enumerate(outputs):
            target = directory / f"{name}.zip"
            if i + 1 < len(outputs):
                partial = directory / f".{name}.zip.partial"
                await asyncio.to_thread(shutil.copyfile, exported, partial)
                await asyncio.to_thread(partial.replace, target)
            else:
                await asyncio.to_thread(exported.replace, target)
            artifacts[name] = services.layout.relative(target)
    except GitError:
        reason = f"Commit {commit} of repository {repository} could not be read"
        job.log(reason)
        return Outcome(ActionStatus.FAILED, reason)
    full, author_date, committer_date, message = shown.stdout.decode("utf-8", "replace").split(
        "\0", 3
    )
    job.log(f"Source {repository} at {full}")
    variables = {
        "CommitId": full,
        "BranchName": str(source.get("branch", "")),
        "CommitMessage": message.strip()[:1000],
        "AuthorDate": author_date,
        "CommitterDate": committer_date,
        "RepositoryName": repository,
    }
    return Outcome(ActionStatus.SUCCEEDED, f"Source revision {full[:12]}", variables, artifacts)
