"""Browsing a repository at a ref: folders, files, raw downloads, history, blame, log.

Each page is authorized with the API's action for the same read: a folder is GetFolder,
a file GetFile, a raw download GetBlob, a file's history ListFileCommitHistory, the log
GetCommit. A file's size is read from its object header first: past `MAX_SHOWN_FILE` the
page offers the download, which streams from `git cat-file` in bounded chunks.
"""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from auth.actions import Action
from gitserver.content.browse import FileStat, RefList
from gitserver.db import Repository
from gitserver.web.context import MAX_SHOWN_FILE, PAGE_SIZE, deps_of, links, readable_repository
from gitserver.web.lines import code_lines, is_binary
from gitserver.web.pages import render

_SNIFF = 8000


@dataclass(frozen=True, slots=True)
class Located:
    """What a browsing URL names: the repository, its refs, the ref in the URL, the
    commit that ref names now, and the path after it."""

    repo: Repository
    refs: RefList
    ref: str
    commit_id: str
    path: str


async def _located(request: web.Request, action: Action) -> Located:
    repo = await readable_repository(request, request.match_info["name"], action)
    parts = [part for part in request.match_info.get("tail", "").split("/") if part]
    found = await deps_of(request).browse.locate(repo, parts)
    return Located(repo, found.refs, found.ref, found.commit_id, found.path)


def _page(
    request: web.Request, template: str, at: Located, view: str, **context: Any
) -> web.Response:
    """A browsing page, with what every one shows: the repository's links and the ref
    switcher (the same `view` of the same path at another branch or tag)."""
    return render(
        request,
        template,
        repo=at.repo,
        links=links(request, at.repo),
        ref=at.ref,
        refs=at.refs,
        view=view,
        view_path=at.path,
        **context,
    )


def _crumbs(path: str) -> list[tuple[str, str]]:
    """(name, path so far) for each component: the page's breadcrumb links."""
    parts = [p for p in path.split("/") if p]
    return [(part, "/".join(parts[: i + 1])) for i, part in enumerate(parts)]


async def tree(request: web.Request) -> web.StreamResponse:
    at = await _located(request, Action.GET_FOLDER)
    folder = await deps_of(request).contents.folder(at.repo, at.commit_id, at.path)
    entries = sorted(folder.entries, key=lambda e: (e.kind != "folder", e.name.lower()))
    return _page(
        request,
        "tree.html",
        at,
        "tree",
        commit_id=at.commit_id,
        folder_path=folder.path,
        crumbs=_crumbs(folder.path),
        entries=entries,
    )


async def blob(request: web.Request) -> web.StreamResponse:
    at = await _located(request, Action.GET_FILE)
    deps = deps_of(request)
    stat = await deps.browse.stat(at.repo, at.commit_id, at.path)
    lines, binary = None, False
    if stat.size <= MAX_SHOWN_FILE:
        found = await deps.contents.file(at.repo, at.commit_id, stat.path)
        binary = is_binary(found.content[:_SNIFF])
        if not binary:
            text = found.content.decode("utf-8", "replace")
            lines = await code_lines(deps.highlights, stat.path, text)
    return _page(
        request,
        "blob.html",
        at,
        "blob",
        commit_id=at.commit_id,
        stat=stat,
        crumbs=_crumbs(stat.path),
        lines=lines,
        binary=binary,
        too_large=stat.size > MAX_SHOWN_FILE,
    )


async def raw(request: web.Request) -> web.StreamResponse:
    """The file's bytes, streamed. Never as HTML: text is text/plain, the rest an
    attachment of application/octet-stream, and a sandbox CSP covers both."""
    at = await _located(request, Action.GET_BLOB)
    deps = deps_of(request)
    stat = await deps.browse.stat(at.repo, at.commit_id, at.path)
    # aclosing: a client that leaves mid-download must not leave git running.
    async with aclosing(deps.browse.blob_chunks(at.repo, stat.blob_id)) as chunks:
        first = await anext(chunks, b"")
        response = web.StreamResponse(headers=_raw_headers(stat, is_binary(first[:_SNIFF])))
        response.content_length = stat.size
        await response.prepare(request)
        await response.write(first)
        async for chunk in chunks:
            await response.write(chunk)
    await response.write_eof()
    return response


def _raw_headers(stat: FileStat, binary: bool) -> dict[str, str]:
    name = stat.path.rsplit("/", 1)[-1]
    disposition = "attachment" if binary else "inline"
    return {
        "Content-Type": "application/octet-stream" if binary else "text/plain; charset=utf-8",
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name, safe='')}",
        # Even if a browser sniffed it as a page, it would run nothing and reach nothing.
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=60",
    }


async def history(request: web.Request) -> web.StreamResponse:
    at = await _located(request, Action.LIST_FILE_COMMIT_HISTORY)
    page = _page_number(request)
    commits = await deps_of(request).browse.log(
        at.repo, at.commit_id, path=at.path, skip=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1
    )
    return _page(
        request,
        "log.html",
        at,
        "history",
        file_path=at.path,
        crumbs=_crumbs(at.path),
        commits=commits[:PAGE_SIZE],
        page=page,
        more=len(commits) > PAGE_SIZE,
    )


async def log(request: web.Request) -> web.StreamResponse:
    at = await _located(request, Action.GET_COMMIT)
    page = _page_number(request)
    commits = await deps_of(request).browse.log(
        at.repo, at.commit_id, skip=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1
    )
    return _page(
        request,
        "log.html",
        at,
        "log",
        file_path="",
        crumbs=[],
        commits=commits[:PAGE_SIZE],
        page=page,
        more=len(commits) > PAGE_SIZE,
    )


async def blame(request: web.Request) -> web.StreamResponse:
    at = await _located(request, Action.GET_FILE)
    deps = deps_of(request)
    stat = await deps.browse.stat(at.repo, at.commit_id, at.path)
    lines = None
    if stat.size <= MAX_SHOWN_FILE:
        lines = await deps.browse.blame(at.repo, at.commit_id, stat.path)
    return _page(
        request,
        "blame.html",
        at,
        "blame",
        stat=stat,
        crumbs=_crumbs(stat.path),
        lines=lines,
    )


def _page_number(request: web.Request) -> int:
    text = request.query.get("page", "1")
    return max(1, min(int(text), 100_000)) if text.isdigit() else 1
