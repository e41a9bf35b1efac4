"""Source `CodeCommit`: the exact commit as a zip artifact, and its variables."""

from __future__ import annotations

import asyncio

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
    artifacts = {}
    try:
        shown = await services.git.run(
            "log", "-1", f"--format={_FORMAT}", user_value(commit), "--", repo=repo
        )
        for name in job.payload.get("outputs", []):
            target = directory / f"{name}.zip"
            partial = directory / f".{name}.zip.partial"
            await services.git.run(
                "archive", "--format=zip", f"--output={partial}", user_value(commit), repo=repo
            )
            await asyncio.to_thread(partial.replace, target)
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
