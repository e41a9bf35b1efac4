"""The web UI's page addresses, in one place: payloads link to them now (GitHub's
`html_url`, notifications), the web UI serves them next.

They follow the CodeCommit console's layout under the server's public base URL, as the
clone URL follows CodeCommit's (`{base}/v1/repos/{name}`):

    {base}/repositories/{name}                              the repository
    {base}/repositories/{name}/commit/{commit}              a commit
    {base}/repositories/{name}/compare/{before}...{after}   two commits compared
    {base}/repositories/{name}/pull-requests/{id}           a pull request
    {base}/repositories/{name}/pull-requests/{id}#comment-{commentId}
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


def comment_anchor(comment_id: str) -> str:
    """The fragment of a comment on a pull-request or commit page."""
    return f"comment-{comment_id}"
