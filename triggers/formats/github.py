"""`github`: GitHub's webhook payloads, so CI systems that read GitHub's push and ping
events work unchanged. Every commit of a push is listed, up to GitHub's 2,048."""

from __future__ import annotations

import hashlib
from typing import Any

from gitserver.weburls import repository_page
from triggers.events import Event, EventType
from triggers.formats.context import CommitInfo, Payload, PayloadContext, RepositoryInfo

MAX_COMMITS = 2048
ZERO = "0" * 40
OWNER = "gitserver"


def numeric_id(text: str) -> int:
    """GitHub's ids are integers; ours are UUIDs or names. A stable 48-bit number."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def user(login: str, base_url: str, kind: str = "User") -> dict[str, Any]:
    url = f"{base_url}/users/{login}"
    return {
        "login": login,
        "id": numeric_id(f"user:{login}"),
        "node_id": f"U_{numeric_id(login):x}",
        "avatar_url": f"{base_url}/avatars/{login}",
        "gravatar_id": "",
        "url": url,
        "html_url": url,
        "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}",
        "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs",
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}",
        "received_events_url": f"{url}/received_events",
        "type": kind,
        "site_admin": False,
    }


_TEMPLATES = {
    "keys_url": "/keys{/key_id}",
    "collaborators_url": "/collaborators{/collaborator}",
    "issue_events_url": "/issues/events{/number}",
    "assignees_url": "/assignees{/user}",
    "branches_url": "/branches{/branch}",
    "blobs_url": "/git/blobs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "trees_url": "/git/trees{/sha}",
    "statuses_url": "/statuses/{sha}",
    "commits_url": "/commits{/sha}",
    "git_commits_url": "/git/commits{/sha}",
    "comments_url": "/comments{/number}",
    "issue_comment_url": "/issues/comments{/number}",
    "contents_url": "/contents/{+path}",
    "compare_url": "/compare/{base}...{head}",
    "archive_url": "/{archive_format}{/ref}",
    "issues_url": "/issues{/number}",
    "pulls_url": "/pulls{/number}",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}",
    "releases_url": "/releases{/id}",
}
_PLAIN = (
    "forks",
    "teams",
    "hooks",
    "events",
    "tags",
    "languages",
    "stargazers",
    "contributors",
    "subscribers",
    "subscription",
    "merges",
    "downloads",
    "deployments",
)


def repository(repo: RepositoryInfo, base_url: str) -> dict[str, Any]:
    html = repository_page(base_url, repo.name)
    api = f"{base_url}/api/v3/repos/{OWNER}/{repo.name}"
    data: dict[str, Any] = {
        "id": numeric_id(repo.id),
        "node_id": f"R_{numeric_id(repo.id):x}",
        "name": repo.name,
        "full_name": f"{OWNER}/{repo.name}",
        "private": True,
        "owner": user(OWNER, base_url, "Organization"),
        "html_url": html,
        "description": repo.description or None,
        "fork": False,
        "url": api,
        "created_at": int(repo.created_at.timestamp()),
        "updated_at": repo.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pushed_at": int(repo.pushed_at.timestamp()) if repo.pushed_at else None,
        "git_url": repo.clone_url_http.replace("http", "git", 1),
        "ssh_url": repo.clone_url_ssh,
        "clone_url": repo.clone_url_http,
        "svn_url": html,
        "homepage": None,
        "size": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": None,
        "has_issues": False,
        "has_projects": False,
        "has_downloads": False,
        "has_wiki": False,
        "has_pages": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "open_issues_count": 0,
        "license": None,
        "forks": 0,
        "open_issues": 0,
        "watchers": 0,
        "default_branch": repo.default_branch or "main",
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [],
        "visibility": "private",
        "custom_properties": {},
    }
    for key, suffix in _TEMPLATES.items():
        data[key] = api + suffix
    for name in _PLAIN:
        data[f"{name}_url"] = f"{api}/{name}"
    return data


def _commit(commit: CommitInfo, html: str) -> dict[str, Any]:
    return {
        "id": commit.id,
        "tree_id": commit.tree_id,
        "distinct": True,
        "message": commit.message,
        "timestamp": commit.timestamp,
        "url": f"{html}/commit/{commit.id}",
        "author": {"name": commit.author_name, "email": commit.author_email},
        "committer": {"name": commit.committer_name, "email": commit.committer_email},
        "added": list(commit.added),
        "removed": list(commit.removed),
        "modified": list(commit.modified),
    }


async def push(event: Event, context: PayloadContext) -> Payload | None:
    repo = context.repository
    if repo is None:
        return None  # the repository is gone: nothing GitHub-shaped to say
    detail = event.detail
    before = detail.get("oldCommitId") or ZERO
    after = detail.get("commitId") or ZERO
    html = repository_page(context.base_url, repo.name)
    ref = detail["referenceFullName"]
    commits = []
    if after != ZERO:
        commits = await context.commits(repo.id, ref, before, after, MAX_COMMITS)
    shaped = [_commit(c, html) for c in commits]
    body = {
        "ref": ref,
        "before": before,
        "after": after,
        "base_ref": None,
        "created": event.type is EventType.REFERENCE_CREATED,
        "deleted": event.type is EventType.REFERENCE_DELETED,
        "forced": bool(detail.get("forced", False)),
        "compare": f"{html}/compare/{before[:12]}...{after[:12]}",
        "commits": shaped,
        "head_commit": shaped[-1] if shaped else None,
        "repository": repository(repo, context.base_url),
        "pusher": {"name": event.actor, "email": f"{event.actor}@users.noreply"},
        "sender": user(event.actor, context.base_url),
    }
    return Payload(body, "push")


async def github(event: Event, context: PayloadContext) -> Payload | None:
    if "referenceFullName" in event.detail:
        return await push(event, context)
    return None  # pull requests: github_pulls.pull_request_payload


# The GitHub events a subscription's event types come as (pull_request_payload's names).
_GITHUB_EVENTS = (
    ("reference", "push"),
    ("commitStatus", "status"),
    ("pullRequestApprovalState", "pull_request_review"),
    ("pullRequest", "pull_request"),
    ("commentOnPullRequest", "issue_comment"),
    ("commentOnPullRequest", "pull_request_review_comment"),
)


def github_events(events: list[str]) -> list[str]:
    """What GitHub's `hook.events` would list for these event types."""
    names = {name for prefix, name in _GITHUB_EVENTS for e in events if e.startswith(prefix)}
    return sorted(names) or events


def ping(hook_id: str, events: list[str], url: str, context: PayloadContext) -> dict[str, Any]:
    """GitHub's `ping`, sent when a webhook is created."""
    body: dict[str, Any] = {
        "zen": "Deliver every event, at least once.",
        "hook_id": numeric_id(hook_id),
        "hook": {
            "type": "Repository",
            "id": numeric_id(hook_id),
            "name": "web",
            "active": True,
            "events": github_events(events),
            "config": {"content_type": "json", "insecure_ssl": "0", "url": url},
            "updated_at": "",
            "created_at": "",
            "url": f"{context.base_url}/hooks/{hook_id}",
            "test_url": f"{context.base_url}/hooks/{hook_id}/test",
            "ping_url": f"{context.base_url}/hooks/{hook_id}/pings",
            "deliveries_url": f"{context.base_url}/hooks/{hook_id}/deliveries",
            "last_response": {"code": None, "status": "unused", "message": None},
        },
        "sender": user("gitserver", context.base_url),
    }
    if context.repository is not None:
        body["repository"] = repository(context.repository, context.base_url)
    return body
