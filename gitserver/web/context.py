"""What the web UI's handlers share: its dependencies, who is asking, and the one way a
page is authorized (`Access.authorize`, with the action the API uses for the same read).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from auth.actions import Action
from auth.authenticate import Authenticator
from auth.principal import Principal
from auth.secretbox import SecretBox
from auth.sessions import SessionInfo
from gitserver.access import Access, RequestInfo, Target, request_info
from gitserver.audit import FailedLogin
from gitserver.clientip import Network
from gitserver.content.branchmerges import BranchMerges
from gitserver.content.browse import Browse
from gitserver.content.conflicts import MergeConflicts
from gitserver.content.service import Contents
from gitserver.db import Database, Repository
from gitserver.pipelines.service import Pipelines
from gitserver.pipelines.statuses import CommitStatuses, RequiredChecks
from gitserver.protection import PushProtection
from gitserver.pulls.approvals import Approvals
from gitserver.pulls.automerge import AutoMerges
from gitserver.pulls.comments import Comments
from gitserver.pulls.merging import PullRequestMerges
from gitserver.pulls.reactions import Reactions
from gitserver.pulls.service import PullRequests
from gitserver.pulls.templates import Templates
from gitserver.store.branches import Branches
from gitserver.store.errors import RepositoryNotFound
from gitserver.store.repositories import Endpoints
from gitserver.web.highlight import HighlightCache
from gitserver.web.pages import VIEWER
from gitserver.web.throttle import Throttle
from triggers.formats.context import PayloadContext
from triggers.ssrf import Allowed

# A file shown in a page is read whole (to highlight it); past this it is offered as a
# download instead, its size read from the object header without inflating it.
MAX_SHOWN_FILE = 1024 * 1024
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Reviews:
    """The pull-request services the review pages call (the API's own instances), and
    the content services for merge options and conflicts."""

    pulls: PullRequests
    comments: Comments
    reactions: Reactions
    approvals: Approvals
    templates: Templates
    merges: PullRequestMerges
    branch_merges: BranchMerges
    conflicts: MergeConflicts
    statuses: CommitStatuses
    required_checks: RequiredChecks
    automerges: AutoMerges


@dataclass(slots=True)
class WebDeps:
    """The services the web UI calls, built once by the server (`Server.web_ui()`)."""

    db: Database
    access: Access
    authenticator: Authenticator
    contents: Contents
    browse: Browse
    on_failed_login: Callable[[FailedLogin], None]
    reviews: Reviews
    # Encrypts access keys' secrets (the self-service page creates them).
    box: SecretBox
    # What webhook payloads link to (the delivery assembly's, which the web may not
    # import: `Server.web_ui()` hands it over), and the hosts the sender allows.
    payload_context: Callable[[Repository | None], PayloadContext]
    webhook_allowed: Allowed
    # The API's UpdateDefaultBranch service (the repository settings page calls it too).
    branches: Branches
    # Pipelines, executions and their logs (the pipeline pages and forms).
    pipelines: Pipelines
    # Protected branches and push rules (the repository settings page).
    protection: PushProtection
    trusted_proxies: tuple[Network, ...] = ()
    # Seconds a form's whole body may take to arrive (forms are small: at most 8 MB).
    body_timeout: float = 60.0
    throttle: Throttle = field(default_factory=Throttle)
    # Highlighted files by content: a file viewed again, or its diff, is not lexed again.
    highlights: HighlightCache = field(default_factory=HighlightCache)

    @property
    def endpoints(self) -> Endpoints:
        return self.access.endpoints


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user of one request, and their session (its CSRF token)."""

    principal: Principal
    session: SessionInfo
    info: RequestInfo
    # The admin sections the user's policies open (previewed once per request): the
    # header shows the Admin link only when there is one.
    admin: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.principal.name


DEPS = web.AppKey("web_deps", WebDeps)


def info_of(request: web.Request, deps: WebDeps) -> RequestInfo:
    """The request's facts for policies and the audit log (transport http or https)."""
    return request_info(
        "https" if request.secure else "http",
        request.remote or "",
        secure=request.secure,
        user_agent=request.headers.get("User-Agent", ""),
        forwarded_for=request.headers.get("X-Forwarded-For"),
        trusted_proxies=deps.trusted_proxies,
    )


def deps_of(request: web.Request) -> WebDeps:
    return request.app[DEPS]


def viewer_of(request: web.Request) -> Viewer:
    """The signed-in user; anyone else is sent to sign in, then back here."""
    viewer: Viewer | None = request.get(VIEWER)
    if viewer is None:
        raise web.HTTPSeeOther(_sign_in_url(request))
    return viewer


def _sign_in_url(request: web.Request) -> str:
    from urllib.parse import quote

    return "/sign-in?next=" + quote(request.rel_url.path_qs, safe="/")


async def readable_repository(
    request: web.Request, name: str, action: Action, *more: Action
) -> Repository:
    """The repository `name`, once `action` (and each of `more`) on it is allowed for the
    viewer: one read of its row, each action decided and audited.

    Raises:
        AccessDenied, RepositoryNotFound: both shown as the same "not found" page.
    """
    viewer = viewer_of(request)
    access = deps_of(request).access
    target = [access.repository(name)]
    rows = await access.authorize(viewer.principal, (action, *more), target, viewer.info)
    row = rows.get(name)
    if row is None:
        raise RepositoryNotFound(f"Repository {name} does not exist")
    return row


async def optional_parts(request: web.Request, repo: Repository, *actions: Action) -> bool:
    """Whether a page may include a part that needs `actions` (a README, the branch list).
    Previewed first, so a part the viewer may not see records no denial; then decided by
    `Access.authorize`, like every read of repository data."""
    if not all(allowed(request, action, repo) for action in actions):
        return False
    viewer = viewer_of(request)
    access = deps_of(request).access
    target = [access.repository(repo.name)]
    await access.authorize(viewer.principal, actions, target, viewer.info, rows={repo.name: repo})
    return True


async def optional_anywhere(request: web.Request, action: Action) -> bool:
    """`optional_parts` for an action decided on `*`, not on a repository (the approval
    rule templates' own operations, as the API checks them)."""
    viewer = viewer_of(request)
    access = deps_of(request).access
    if not access.preview(viewer.principal, action, Target("*"), viewer.info).allowed:
        return False
    await access.authorize(viewer.principal, action, [Target("*")], viewer.info)
    return True


@dataclass(frozen=True, slots=True)
class Links:
    """Which of a repository's pages the viewer may open; links to the others are left
    out (a forged request for one is still decided, and refused)."""

    tree: bool
    file: bool
    raw: bool
    history: bool
    log: bool
    commit: bool
    webhooks: bool
    settings: bool
    notifications: bool
    templates: bool


def links(request: web.Request, repo: Repository) -> Links:
    def may(*actions: Action) -> bool:
        return all(allowed(request, action, repo) for action in actions)

    return Links(
        tree=may(Action.GET_FOLDER),
        file=may(Action.GET_FILE),
        raw=may(Action.GET_BLOB),
        history=may(Action.LIST_FILE_COMMIT_HISTORY),
        log=may(Action.GET_COMMIT),
        commit=may(Action.GET_COMMIT, Action.GET_DIFFERENCES),
        webhooks=may(Action.GET_REPOSITORY_TRIGGERS),
        settings=may(Action.UPDATE_REPOSITORY_DESCRIPTION)
        or may(Action.UPDATE_DEFAULT_BRANCH)
        or may(Action.UPDATE_REQUIRED_STATUS_CHECKS),
        # Notification rules are read with the trigger actions, as webhooks.
        notifications=may(Action.GET_REPOSITORY_TRIGGERS),
        templates=may(Action.LIST_ASSOCIATED_APPROVAL_RULE_TEMPLATES_FOR_REPOSITORY),
    )


def allowed(request: web.Request, action: Action, repo: Repository) -> bool:
    """Whether the viewer may `action` on `repo`, to decide what a page shows: a preview,
    not audited (a user who never asked is not recorded as denied). Every request is
    still authorized, and audited, when it comes."""
    viewer = viewer_of(request)
    access = deps_of(request).access
    target = access.repository(repo.name, repo)
    return access.preview(viewer.principal, action, target, viewer.info).allowed
