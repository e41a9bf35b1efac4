"""The web UI's page addresses, in one place: payloads link to them now (GitHub's
`html_url`, notifications), the web UI serves them next.

They follow the CodeCommit console's layout under the server's public base URL, as the
clone URL follows CodeCommit's (`{base}/v1/repos/{name}`):

    {base}/repositories/{name}                              the repository
    {base}/repositories/{name}/commit/{commit}              a commit
    {base}/repositories/{name}/compare/{before}...{after}   two commits compared
    {base}/repositories/{name}/pull-requests/{id}           a pull request
    {base}/repositories/{name}/pull-requests/{id}#comment-{commentId}

    {base}/pipelines/{name}/executions/{id}                 a pipeline execution

The web UI's other pages (pass `base_url=""` for a site-relative link):

    {base}/repositories/{name}/tree/{ref}/{path}      a folder at a ref
    {base}/repositories/{name}/blob/{ref}/{path}      a file at a ref
    {base}/repositories/{name}/raw/{ref}/{path}       a file's bytes (download)
    {base}/repositories/{name}/history/{ref}/{path}   the commits that changed a file
    {base}/repositories/{name}/blame/{ref}/{path}     who last changed each line
    {base}/repositories/{name}/log/{ref}              the commit log

`{ref}` is written as is, slashes included (`feature/x`); the web UI reads the longest
prefix of the path that names a branch or tag (docs/architecture.md, "Web UI").
"""

from __future__ import annotations

from urllib.parse import quote


def repository_page(base_url: str, repository: str) -> str:
    return f"{base_url.rstrip('/')}/repositories/{quote(repository, safe='')}"


def commit_page(base_url: str, repository: str, commit: str) -> str:
    return f"{repository_page(base_url, repository)}/commit/{commit}"


def compare_page(base_url: str, repository: str, before: str, after: str) -> str:
    return f"{repository_page(base_url, repository)}/compare/{before}...{after}"


def pull_request_page(base_url: str, repository: str, pull_request_id: str) -> str:
    return f"{repository_page(base_url, repository)}/pull-requests/{pull_request_id}"


def pipeline_execution_page(base_url: str, pipeline: str, execution_id: str) -> str:
    """A pipeline execution's page (commit statuses link to it)."""
    name = quote(pipeline, safe="")
    return f"{base_url.rstrip('/')}/pipelines/{name}/executions/{quote(execution_id, safe='')}"


def comment_anchor(comment_id: str) -> str:
    """The fragment of a comment on a pull-request or commit page."""
    return f"comment-{comment_id}"


def ref_page(base_url: str, repository: str, view: str, ref: str, path: str = "") -> str:
    """`view` (tree, blob, raw, history, blame, log) of `path` at `ref`."""
    tail = "/".join(quote(part, safe="") for part in f"{ref}/{path}".strip("/").split("/"))
    return f"{repository_page(base_url, repository)}/{view}/{tail}"


def pipeline_page(base_url: str, pipeline: str) -> str:
    """A pipeline: its graph and execution history (`{base}/pipelines/{name}`)."""
    return f"{base_url.rstrip('/')}/pipelines/{quote(pipeline, safe='')}"


def execution_page(base_url: str, pipeline: str, execution_id: str) -> str:
    """One execution of a pipeline."""
    return f"{pipeline_page(base_url, pipeline)}/executions/{quote(execution_id, safe='')}"


def action_log_page(
    base_url: str, pipeline: str, execution_id: str, stage: str, action: str
) -> str:
    """The log of an action's latest attempt in an execution."""
    return (
        f"{execution_page(base_url, pipeline, execution_id)}"
        f"/log/{quote(stage, safe='')}/{quote(action, safe='')}"
    )
