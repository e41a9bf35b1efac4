"""`github` for commit statuses: GitHub's `status` event, from the detail of
`commitStatusChanged` (`gitserver/pipelines/statuses/service.py`), so receivers built
for GitHub's statuses (chat bots, deploy gates) work unchanged.

`branches` lists the branches whose tip is the commit when the status was set (GitHub
lists up to 10 branches containing it; the tips are what the server knows without a
walk of history). No branch is `protected`: required checks are per repository here.
"""

from __future__ import annotations

from typing import Any

from gitserver.weburls import commit_page
from triggers.events import Event, EventType
from triggers.formats.context import Payload, PayloadContext
from triggers.formats.github import OWNER, numeric_id, repository, user


async def status_payload(event: Event, context: PayloadContext) -> Payload | None:
    """GitHub's `status` payload, or None (another event, or the repository is gone)."""
    repo = context.repository
    if event.type is not EventType.COMMIT_STATUS_CHANGED or repo is None:
        return None
    detail = event.detail
    sha = detail["commitId"]
    api = f"{context.base_url}/api/v3/repos/{OWNER}/{repo.name}"
    commit = detail["commit"]
    body: dict[str, Any] = {
        "id": numeric_id(f"status:{repo.id}:{detail['statusId']}:{detail['lastModifiedDate']}"),
        "sha": sha,
        "name": f"{OWNER}/{repo.name}",
        "target_url": detail["targetUrl"] or None,
        "context": detail["context"],
        "description": detail["description"] or None,
        "state": detail["state"],
        "commit": {
            "sha": sha,
            "node_id": f"C_{numeric_id(sha):x}",
            "commit": {
                "author": commit["author"],
                "committer": commit["committer"],
                "message": commit["message"],
                "tree": {"sha": commit["treeId"], "url": f"{api}/git/trees/{commit['treeId']}"},
                "url": f"{api}/git/commits/{sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                },
            },
            "url": f"{api}/commits/{sha}",
            "html_url": commit_page(context.base_url, repo.name, sha),
            "comments_url": f"{api}/commits/{sha}/comments",
            # Commits name people by name and email; GitHub's users are accounts.
            "author": None,
            "committer": None,
            "parents": [
                {
                    "sha": parent,
                    "url": f"{api}/commits/{parent}",
                    "html_url": commit_page(context.base_url, repo.name, parent),
                }
                for parent in commit["parents"]
            ],
        },
        "branches": [
            {
                "name": name,
                "commit": {"sha": sha, "url": f"{api}/commits/{sha}"},
                "protected": False,
            }
            for name in detail["branches"]
        ],
        "created_at": detail["creationDate"],
        "updated_at": detail["lastModifiedDate"],
        "repository": repository(repo, context.base_url),
        "sender": user(event.actor, context.base_url),
    }
    return Payload(body, "status")
