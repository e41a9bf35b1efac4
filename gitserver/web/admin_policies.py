"""Admin pages for managed policies (list, view, create, update in a JSON editor) and the
`policy simulate` form.

Creating is the CLI's `policy create`, updating its `policy create-version
--set-default` (IAM keeps versions; the page edits the one in force). An invalid
document is refused by the policy engine (`auth.policies.validate_document`), whose
error says the line and column; the page shows them, marks the line in a listing of
the text sent, and keeps the text in the editor. Nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from auth import policies, simulation
from auth.actions import Action
from auth.errors import AuthError, MalformedPolicy
from auth.policy import MANAGED_POLICIES, PolicyDecision
from gitserver.web import adminauth
from gitserver.web.adminauth import ADMIN, authorize, iam_arn, may
from gitserver.web.context import deps_of
from gitserver.web.middleware import error_status
from gitserver.web.pages import render
from gitserver.web.security import redirect

POLICIES = ADMIN + "/policies"
NEW = POLICIES + "/new"
SIMULATE = ADMIN + "/simulate"
_TEMPLATE = """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["codecommit:GitPull"],
      "Resource": "*"
    }
  ]
}
"""


@dataclass(frozen=True, slots=True)
class EditorError:
    """A refusal to show beside the editor: the message, and where in the text."""

    message: str
    status: int
    line: int | None = None
    column: int | None = None


def _editor_error(exc: AuthError) -> EditorError:
    if isinstance(exc, MalformedPolicy):
        return EditorError(str(exc), 400, exc.line, exc.column)
    return EditorError(str(exc), error_status(exc) or 400)


async def policy_list(request: web.Request) -> web.StreamResponse:
    adminauth.authorize_section(request, "policies")
    deps = deps_of(request)
    async with deps.db.reader() as session:
        managed = await policies.list_managed(session, deps.endpoints.account_id)
    return render(
        request,
        "admin_policies.html",
        tabs=adminauth.tabs(request),
        policies=managed,
        can_create=may(request, Action.IAM_CREATE_POLICY, iam_arn(request, "policy", "*")),
    )


async def new_policy(request: web.Request) -> web.StreamResponse:
    adminauth.authorize_section(request, "policies")
    if not may(request, Action.IAM_CREATE_POLICY, iam_arn(request, "policy", "*")):
        raise web.HTTPForbidden(text=adminauth.DENIED)
    return _editor(request, name="", document=_TEMPLATE, error=None, new=True)


async def create_policy(request: web.Request) -> web.StreamResponse:
    """The CLI's `policy create NAME --document F`."""
    form = await request.post()
    name, document = str(form.get("name", "")).strip(), str(form.get("document", ""))
    authorize(request, Action.IAM_CREATE_POLICY, iam_arn(request, "policy", name))
    try:
        async with deps_of(request).db.session() as session:
            await policies.create_policy(session, name, document)
    except AuthError as exc:
        return _editor(request, name=name, document=document, error=_editor_error(exc), new=True)
    return redirect(f"{POLICIES}/{name}")


async def policy_detail(request: web.Request) -> web.StreamResponse:
    """A policy's document in force (IAM's GetPolicy + GetPolicyVersion)."""
    name = request.match_info["policy"]
    authorize(request, Action.IAM_GET_POLICY_VERSION, _policy_arn(request, name))
    async with deps_of(request).db.reader() as session:
        document = await policies.policy_document(session, name)
        versions = await policies.list_policy_versions(session, name)
    return _editor(request, name=name, document=document, error=None, versions=versions)


async def update_policy(request: web.Request) -> web.StreamResponse:
    """The CLI's `policy create-version NAME --document F --set-default`."""
    name = request.match_info["policy"]
    authorize(request, Action.IAM_CREATE_POLICY_VERSION, _policy_arn(request, name))
    document = str((await request.post()).get("document", ""))
    try:
        async with deps_of(request).db.session() as session:
            await policies.create_policy_version(session, name, document, set_default=True)
    except AuthError as exc:
        return _editor(request, name=name, document=document, error=_editor_error(exc))
    return redirect(f"{POLICIES}/{name}")


def _policy_arn(request: web.Request, name: str) -> str:
    # The built-ins are AWS-managed, as AWS's own are: `arn:aws:iam::aws:policy/NAME`.
    if name in MANAGED_POLICIES:
        return f"arn:aws:iam::aws:policy/{name}"
    return iam_arn(request, "policy", name)


def _editor(
    request: web.Request,
    *,
    name: str,
    document: str,
    error: EditorError | None,
    new: bool = False,
    versions: list[policies.VersionInfo] | None = None,
) -> web.Response:
    builtin = name in MANAGED_POLICIES
    if new:
        editable = True
    else:
        arn = _policy_arn(request, name)
        editable = not builtin and may(request, Action.IAM_CREATE_POLICY_VERSION, arn)
    return render(
        request,
        "admin_policy.html",
        status=error.status if error else 200,
        tabs=adminauth.tabs(request),
        name=name,
        new=new,
        builtin=builtin,
        editable=editable,
        document=document,
        lines=_listing(document, error),
        error=error,
        versions=versions or [],
    )


def _listing(document: str, error: EditorError | None) -> list[str]:
    """The document's lines, to show the one in error marked (none without a line)."""
    if error is None or error.line is None:
        return []
    lines = document.split("\n")
    if len(lines) > error.line and not lines[-1]:
        lines.pop()  # the newline that ends the text starts no line of its own
    return lines


# --- policy simulate ------------------------------------------------------------------


async def simulate(request: web.Request) -> web.StreamResponse:
    """The CLI's `policy simulate` as a GET form (a read; the address can be shared):
    the same function, the same decision and the same line."""
    adminauth.authorize_section(request, "simulate")
    query = request.query
    form = {key: query.get(key, "").strip() for key in ("user", "action", "resource")}
    form["context"] = query.get("context", "")
    decision: PolicyDecision | None = None
    resource = ""
    if form["user"] and form["action"] and form["resource"]:
        authorize(
            request, Action.IAM_SIMULATE_PRINCIPAL_POLICY, iam_arn(request, "user", form["user"])
        )
        resource = _resource(request, form["resource"])
        lines = [line.strip() for line in form["context"].splitlines() if line.strip()]
        context = simulation.simulation_context(lines)
        deps = deps_of(request)
        async with deps.db.reader() as session:
            decision = await simulation.simulate(
                session, form["user"], form["action"], resource, context, deps.endpoints.account_id
            )
    return render(
        request,
        "admin_simulate.html",
        tabs=adminauth.tabs(request),
        form=form,
        resource=resource,
        decision=decision,
        text=simulation.simulation_text(decision) if decision else "",
        actions=[str(action) for action in Action],
    )


def _resource(request: web.Request, value: str) -> str:
    """An ARN as given; anything else is a repository name, as its ARN."""
    return (
        value
        if value.startswith("arn:") or value == "*"
        else deps_of(request).access.endpoints.arn(value)
    )
