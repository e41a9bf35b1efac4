"""The repository list and a repository's home page.

The list is the API's `ListRepositories` (decided on `*`, as the API does) narrowed to
the repositories the viewer may `GetRepository`; the home page is `GetRepository`, and
its parts (README, branch list) appear only where GetFile / ListBranches are allowed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from markupsafe import Markup

from auth.actions import Action
from gitserver.access import AccessDenied, Target
from gitserver.content.browse import Readme as FoundReadme
from gitserver.store.repositories import list_repositories
from gitserver.web.context import (
    MAX_SHOWN_FILE,
    PAGE_SIZE,
    allowed,
    deps_of,
    links,
    optional_parts,
    readable_repository,
    viewer_of,
)
from gitserver.web.pages import markdown, render

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def repository_list(request: web.Request) -> web.StreamResponse:
    viewer = viewer_of(request)
    deps = deps_of(request)
    try:
        await deps.access.authorize(
            viewer.principal, Action.LIST_REPOSITORIES, [Target("*")], viewer.info
        )
    except AccessDenied:
        # Nothing about any repository is told here; the user may still open one they
        # may read by its address.
        message = "Your policies do not allow listing repositories."
        return render(request, "error.html", status=403, status_code=403, message=message)
    async with deps.db.reader() as session:
        rows = await list_repositories(session)
    query = request.query.get("q", "").strip()
    sort = "pushed" if request.query.get("sort") == "pushed" else "name"
    shown = [
        r
        for r in rows
        if query.lower() in r.name.lower() and allowed(request, Action.GET_REPOSITORY, r)
    ]
    if sort == "pushed":
        shown.sort(key=lambda r: (r.pushed_at or _EPOCH, r.name), reverse=True)
    page = _page_number(request)
    chunk = shown[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return render(
        request,
        "repositories.html",
        repositories=chunk,
        query=query,
        sort=sort,
        page=page,
        more=len(shown) > page * PAGE_SIZE,
        total=len(shown),
    )


def _page_number(request: web.Request) -> int:
    text = request.query.get("page", "1")
    return max(1, min(int(text), 100_000)) if text.isdigit() else 1


async def repository_home(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.GET_REPOSITORY)
    deps = deps_of(request)
    show_refs = await optional_parts(request, repo, Action.LIST_BRANCHES)
    show_readme = await optional_parts(request, repo, Action.GET_FOLDER, Action.GET_FILE)
    # Two reads of the repository that do not wait on each other.
    refs, found = await asyncio.gather(
        deps.browse.refs(repo) if show_refs else _nothing(),
        deps.browse.readme(repo, MAX_SHOWN_FILE) if show_readme else _nothing(),
    )
    return render(
        request,
        "repository.html",
        repo=repo,
        refs=refs,
        readme=_rendered(found),
        clone_http=deps.endpoints.clone_url_http(repo.name),
        clone_ssh=deps.endpoints.clone_url_ssh(repo.name),
        links=links(request, repo),
    )


async def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Readme:
    path: str
    html: Markup | None  # Markdown, rendered and sanitized
    text: str  # any other README, shown as text


def _rendered(found: FoundReadme | None) -> Readme | None:
    """The README as the page shows it: Markdown rendered (sanitized), anything else as
    text; None when there is none or it is larger than a page shows."""
    if found is None or found.content is None:
        return None
    text = found.content.decode("utf-8", "replace")
    if found.path.lower().endswith((".md", ".markdown")):
        return Readme(found.path, markdown(text), "")
    return Readme(found.path, None, text)
