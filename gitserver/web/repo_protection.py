"""The repository settings page's push protection forms: protected-branch rules and the
push rules, through the service the CLI's `repo protect|unprotect|push-rules` call,
decided (and audited) as `gitserver:UpdatePushProtection`."""

from __future__ import annotations

from aiohttp import web

from auth.actions import Action
from gitserver.protection import BranchRule
from gitserver.protection.errors import ProtectionError
from gitserver.web.context import deps_of, readable_repository
from gitserver.web.repo_settings import _render
from gitserver.web.security import redirect
from gitserver.weburls import repository_page

_SCANNING = {"default": None, "on": True, "off": False}


def _section(name: str) -> str:
    return repository_page("", name) + "/settings#push-protection"


async def protect(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.UPDATE_PUSH_PROTECTION)
    form = await request.post()
    flags = {key: form.get(key) == "on" for key in BranchRule.__slots__ if key != "pattern"}
    rule = BranchRule(str(form.get("pattern", "")).strip(), **flags)
    try:
        await deps_of(request).protection.protect(repo.name, rule)
    except ProtectionError as exc:
        return await _render(request, repo, push_error=str(exc))
    return redirect(_section(repo.name))


async def unprotect(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.UPDATE_PUSH_PROTECTION)
    pattern = str((await request.post()).get("pattern", ""))
    await deps_of(request).protection.unprotect(repo.name, pattern)
    return redirect(_section(repo.name))


async def set_push_rules(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    repo = await readable_repository(request, name, Action.UPDATE_PUSH_PROTECTION)
    form = await request.post()
    scanning = str(form.get("secret_scanning", "default"))
    size = str(form.get("max_file_size", "")).strip()
    if scanning not in _SCANNING or not (size == "" or size.isdigit()):
        message = "Secret scanning is default, on or off; the size is a number of bytes"
        return await _render(request, repo, push_error=message)
    try:
        await deps_of(request).protection.set_push_rules(
            repo.name,
            secret_scanning=_SCANNING[scanning],
            max_file_size=int(size) if size else None,
        )
    except ProtectionError as exc:
        return await _render(request, repo, push_error=str(exc))
    return redirect(_section(repo.name))
