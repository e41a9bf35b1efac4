"""A user's own SSH keys, HTTPS Git credentials and access keys.

Each page and form is decided with the IAM action IAM's API uses for it, on the
viewer's own ARN (`Principal.arn`): what the managed policies' self-service statements
grant on `user/${aws:username}`. The work is `auth`'s, as the CLI's is; the only rule
added for the web is ownership (`OwnedKind.get(..., owner=)`): an id that is another
user's is "not found", like an id that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from auth import credentials, sshkeys
from auth.actions import Action
from auth.errors import AuthError
from auth.owned import ACCESS_KEYS, GIT_CREDENTIALS, SSH_KEYS, STATUSES, OwnedKind
from gitserver.access import AccessDenied, Target
from gitserver.web.context import deps_of, viewer_of
from gitserver.web.pages import render
from gitserver.web.security import redirect

SSH_PAGE = "/settings/ssh-keys"
CREDENTIALS_PAGE = "/settings/credentials"
# A page that shows a secret is not kept by the browser or a proxy.
_NO_STORE = {"Cache-Control": "no-store"}


async def authorize_own(request: web.Request, action: Action) -> None:
    """Decide `action` on the viewer's own user (audited, like every request).

    Raises:
        HTTPForbidden: the viewer's policies do not allow it (a page that says so).
    """
    viewer = viewer_of(request)
    access = deps_of(request).access
    try:
        access.check(viewer.principal, action, Target(viewer.principal.arn), viewer.info)
    except AccessDenied:
        raise web.HTTPForbidden(text="Your policies do not allow this.") from None


def may_own(request: web.Request, *actions: Action) -> bool:
    """Whether to show a control for `actions` on the viewer's own user (not audited)."""
    viewer = viewer_of(request)
    access = deps_of(request).access
    target = Target(viewer.principal.arn)
    return all(
        access.preview(viewer.principal, action, target, viewer.info).allowed for action in actions
    )


# --- SSH public keys -------------------------------------------------------------------


async def ssh_keys(request: web.Request) -> web.StreamResponse:
    return await _ssh_page(request, error="", text="")


async def _ssh_page(request: web.Request, error: str, text: str) -> web.Response:
    await authorize_own(request, Action.IAM_LIST_SSH_PUBLIC_KEYS)
    async with deps_of(request).db.reader() as session:
        rows = await sshkeys.list_ssh_keys(session, viewer_of(request).name)
    return render(
        request,
        "ssh_keys.html",
        status=400 if error else 200,
        keys=[key for key, _ in rows],
        error=error,
        text=text,
        can_add=may_own(request, Action.IAM_UPLOAD_SSH_PUBLIC_KEY),
        can_update=may_own(request, Action.IAM_UPDATE_SSH_PUBLIC_KEY),
        can_delete=may_own(request, Action.IAM_DELETE_SSH_PUBLIC_KEY),
        max_keys=sshkeys.MAX_SSH_KEYS,
    )


async def add_ssh_key(request: web.Request) -> web.StreamResponse:
    """The CLI's `ssh-key add`: an invalid, duplicate or surplus key is shown with its
    reason and the pasted text kept, and nothing is stored."""
    await authorize_own(request, Action.IAM_UPLOAD_SSH_PUBLIC_KEY)
    text = str((await request.post()).get("key", ""))
    try:
        async with deps_of(request).db.session() as session:
            await sshkeys.add_ssh_key(session, viewer_of(request).name, text)
    except AuthError as exc:
        return await _ssh_page(request, error=str(exc), text=text)
    return redirect(SSH_PAGE)


async def ssh_key_status(request: web.Request) -> web.StreamResponse:
    await authorize_own(request, Action.IAM_UPDATE_SSH_PUBLIC_KEY)
    return await _set_status(request, SSH_KEYS, SSH_PAGE)


async def delete_ssh_key(request: web.Request) -> web.StreamResponse:
    await authorize_own(request, Action.IAM_DELETE_SSH_PUBLIC_KEY)
    return await _delete(request, SSH_KEYS, SSH_PAGE)


async def _set_status(request: web.Request, kind: OwnedKind[Any], back: str) -> web.StreamResponse:
    status = str((await request.post()).get("status", ""))
    if status not in STATUSES:
        raise web.HTTPBadRequest(text=f"The status must be one of {', '.join(STATUSES)}.")
    async with deps_of(request).db.session() as session:
        await kind.set_status(session, request.match_info["id"], status, viewer_of(request).name)
    return redirect(back)


async def _delete(request: web.Request, kind: OwnedKind[Any], back: str) -> web.StreamResponse:
    async with deps_of(request).db.session() as session:
        await kind.delete(session, request.match_info["id"], viewer_of(request).name)
    return redirect(back)


# --- HTTPS Git credentials and access keys -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Created:
    """A secret just made: shown on the page that answers the form, and never again."""

    kind: str
    ident: str
    username: str
    secret: str


async def credentials_page(request: web.Request) -> web.StreamResponse:
    lists = (Action.IAM_LIST_SERVICE_SPECIFIC_CREDENTIALS, Action.IAM_LIST_ACCESS_KEYS)
    if not any(may_own(request, action) for action in lists):
        # Neither list is the viewer's to read: refused (and audited), as the SSH keys
        # page is, rather than an empty page that no policy opened.
        await authorize_own(request, Action.IAM_LIST_SERVICE_SPECIFIC_CREDENTIALS)
    return await _credentials_page(request, created=None, error="")


async def _credentials_page(
    request: web.Request, created: Created | None, error: str
) -> web.Response:
    name = viewer_of(request).name
    async with deps_of(request).db.reader() as session:
        git = None
        if may_own(request, Action.IAM_LIST_SERVICE_SPECIFIC_CREDENTIALS):
            await authorize_own(request, Action.IAM_LIST_SERVICE_SPECIFIC_CREDENTIALS)
            git = [c for c, _ in await credentials.list_git_credentials(session, name)]
        keys = None
        if may_own(request, Action.IAM_LIST_ACCESS_KEYS):
            await authorize_own(request, Action.IAM_LIST_ACCESS_KEYS)
            keys = [k for k, _ in await credentials.list_access_keys(session, name)]
    response = render(
        request,
        "credentials.html",
        status=400 if error else 200,
        git_credentials=git,
        access_keys=keys,
        created=created,
        error=error,
        may=_credential_controls(request),
        max_git=credentials.MAX_GIT_CREDENTIALS,
        max_keys=credentials.MAX_ACCESS_KEYS,
    )
    response.headers.update(_NO_STORE)
    return response


def _credential_controls(request: web.Request) -> dict[str, bool]:
    actions = {
        "create_git": Action.IAM_CREATE_SERVICE_SPECIFIC_CREDENTIAL,
        "update_git": Action.IAM_UPDATE_SERVICE_SPECIFIC_CREDENTIAL,
        "delete_git": Action.IAM_DELETE_SERVICE_SPECIFIC_CREDENTIAL,
        "create_key": Action.IAM_CREATE_ACCESS_KEY,
        "update_key": Action.IAM_UPDATE_ACCESS_KEY,
        "delete_key": Action.IAM_DELETE_ACCESS_KEY,
    }
    return {name: may_own(request, action) for name, action in actions.items()}


async def create_git_credential(request: web.Request) -> web.StreamResponse:
    """The CLI's `credential create`; the password is in this response only."""
    await authorize_own(request, Action.IAM_CREATE_SERVICE_SPECIFIC_CREDENTIAL)
    deps = deps_of(request)
    try:
        async with deps.db.session() as session:
            new = await credentials.create_git_credential(
                session, viewer_of(request).name, deps.endpoints.account_id
            )
    except AuthError as exc:
        return await _credentials_page(request, created=None, error=str(exc))
    made = Created("git", new.credential_id, new.username, new.password)
    return await _credentials_page(request, created=made, error="")


async def create_access_key(request: web.Request) -> web.StreamResponse:
    """The CLI's `access-key create`; the secret is in this response only."""
    await authorize_own(request, Action.IAM_CREATE_ACCESS_KEY)
    deps = deps_of(request)
    try:
        async with deps.db.session() as session:
            new = await credentials.create_access_key(session, viewer_of(request).name, deps.box)
    except AuthError as exc:
        return await _credentials_page(request, created=None, error=str(exc))
    made = Created("access-key", new.access_key_id, new.access_key_id, new.secret_access_key)
    return await _credentials_page(request, created=made, error="")


async def git_credential_status(request: web.Request) -> web.StreamResponse:
    await authorize_own(request, Action.IAM_UPDATE_SERVICE_SPECIFIC_CREDENTIAL)
    return await _set_status(request, GIT_CREDENTIALS, CREDENTIALS_PAGE)


async def delete_git_credential(request: web.Request) -> web.StreamResponse:
    await authorize_own(request, Action.IAM_DELETE_SERVICE_SPECIFIC_CREDENTIAL)
    return await _delete(request, GIT_CREDENTIALS, CREDENTIALS_PAGE)


async def access_key_status(request: web.Request) -> web.StreamResponse:
    await authorize_own(request, Action.IAM_UPDATE_ACCESS_KEY)
    return await _set_status(request, ACCESS_KEYS, CREDENTIALS_PAGE)


async def delete_access_key(request: web.Request) -> web.StreamResponse:
    await authorize_own(request, Action.IAM_DELETE_ACCESS_KEY)
    return await _delete(request, ACCESS_KEYS, CREDENTIALS_PAGE)
