"""How the admin pages are authorized: IAM's actions on IAM's ARNs, through the one
access check (`Access.check` to decide and audit, `Access.preview` for what to show).

Users are `arn:aws:iam::ACCOUNT:user/NAME`, groups `group/NAME`, customer-managed
policies `policy/NAME` (the built-ins `arn:aws:iam::aws:policy/NAME`, as AWS's); a list
is decided on `user/*`, `group/*` or `policy/*`, the audit log on `*`
(`cloudtrail:LookupEvents` has no resource). The CLI is the operator's own tool and
asks nobody; the admin pages are for users whose policies allow them
(`GitServerIAMFullAccess`; `--admin` users hold it).
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from auth.actions import Action
from auth.principal import Principal
from gitserver.access import Access, AccessDenied, RequestInfo, Target
from gitserver.web.context import deps_of, viewer_of

ADMIN = "/admin"
# Each section, the page it opens and what its page needs (on its list resource).
SECTIONS: Mapping[str, tuple[str, tuple[Action, ...]]] = {
    "users": ("Users", (Action.IAM_LIST_USERS, Action.IAM_LIST_GROUPS_FOR_USER)),
    "groups": ("Groups", (Action.IAM_LIST_GROUPS,)),
    "policies": ("Policies", (Action.IAM_LIST_POLICIES,)),
    "simulate": ("Simulate", (Action.IAM_SIMULATE_PRINCIPAL_POLICY,)),
    "audit": ("Audit log", (Action.CLOUDTRAIL_LOOKUP_EVENTS,)),
}
_SECTION_RESOURCE = {
    "users": "user/*",
    "groups": "group/*",
    "policies": "policy/*",
    "simulate": "user/*",
}
DENIED = "Your policies do not allow this."


def iam_arn(request: web.Request, kind: str, name: str) -> str:
    """`arn:aws:iam::ACCOUNT:{kind}/{name}` (kind: user, group, policy)."""
    return f"arn:aws:iam::{deps_of(request).endpoints.account_id}:{kind}/{name}"


def section_arn(account_id: str, section: str) -> str:
    resource = _SECTION_RESOURCE.get(section)
    return f"arn:aws:iam::{account_id}:{resource}" if resource else "*"


def admin_sections(access: Access, principal: Principal, info: RequestInfo) -> tuple[str, ...]:
    """The sections `principal` may open, for the header's link and the tabs (a preview:
    not audited)."""
    account = access.endpoints.account_id
    return tuple(
        section
        for section, (_, actions) in SECTIONS.items()
        if all(
            access.preview(principal, action, Target(section_arn(account, section)), info).allowed
            for action in actions
        )
    )


def authorize(request: web.Request, action: Action, arn: str) -> None:
    """Decide `action` on `arn` for the viewer (audited, like every request).

    Raises:
        HTTPForbidden: the viewer's policies do not allow it (a page that says so).
    """
    viewer = viewer_of(request)
    try:
        deps_of(request).access.check(viewer.principal, action, Target(arn), viewer.info)
    except AccessDenied:
        raise web.HTTPForbidden(text=DENIED) from None


def authorize_section(request: web.Request, section: str) -> None:
    """Decide what the section's page needs, on its list resource."""
    arn = section_arn(deps_of(request).endpoints.account_id, section)
    for action in SECTIONS[section][1]:
        authorize(request, action, arn)


def may(request: web.Request, action: Action, arn: str) -> bool:
    """Whether to show a control for `action` on `arn` (a preview: not audited)."""
    viewer = viewer_of(request)
    access = deps_of(request).access
    return access.preview(viewer.principal, action, Target(arn), viewer.info).allowed


def tabs(request: web.Request) -> list[tuple[str, str]]:
    """(href, label) of the sections the viewer may open, for `_admin_nav.html`."""
    return [(f"{ADMIN}/{section}", SECTIONS[section][0]) for section in viewer_of(request).admin]


async def admin_home(request: web.Request) -> web.StreamResponse:
    """`/admin`: the first section the viewer may open; 403 when none."""
    allowed = viewer_of(request).admin
    if not allowed:
        raise web.HTTPForbidden(text=DENIED)
    raise web.HTTPSeeOther(f"{ADMIN}/{allowed[0]}")
