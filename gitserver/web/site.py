"""The web UI's routes, mounted by `Server.app()` beside git, the API, /healthz and /metrics.

Every route is named `web-...`: the middleware (sessions, CSRF, error pages, security
headers) acts on those and leaves git's and the API's answers alone.
"""

from __future__ import annotations

import functools

from aiohttp import web

from gitserver.web import account, browse, commits, repos
from gitserver.web.context import DEPS, WebDeps
from gitserver.web.highlight import stylesheet
from gitserver.web.middleware import SIGN_IN_ROUTE, security_headers, web_middleware
from gitserver.web.pages import STATIC

_REPO = "/repositories/{name}"


class WebUI:
    """Server-rendered pages over the services; `install` adds them to an application."""

    def __init__(self, deps: WebDeps) -> None:
        self.deps = deps

    def install(self, app: web.Application) -> None:
        """Add the routes and the middleware (after git's and the API's routes: `POST /`
        stays the API's, `GET /` is the repository list)."""
        app[DEPS] = self.deps
        app.middlewares.append(web_middleware)
        app.on_response_prepare.append(security_headers)
        app.add_routes(routes())
        app.router.add_static("/static", STATIC, name="web-static", append_version=False)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/static/style.css", style, name="web-style"),
        web.get("/", repos.repository_list, name="web-repositories"),
        web.get("/sign-in", account.sign_in_form, name="web-signin-page"),
        web.post("/sign-in", account.sign_in, name=SIGN_IN_ROUTE),
        web.post("/sign-out", account.sign_out, name="web-signout"),
        web.get("/settings/password", account.password_form, name="web-password-page"),
        web.post("/settings/password", account.change_password, name="web-password"),
        web.get(_REPO, repos.repository_home, name="web-repository"),
        web.get(_REPO + "/tree/{tail:.*}", browse.tree, name="web-tree"),
        web.get(_REPO + "/blob/{tail:.*}", browse.blob, name="web-blob"),
        web.get(_REPO + "/raw/{tail:.*}", browse.raw, name="web-raw"),
        web.get(_REPO + "/history/{tail:.*}", browse.history, name="web-history"),
        web.get(_REPO + "/blame/{tail:.*}", browse.blame, name="web-blame"),
        web.get(_REPO + "/log/{tail:.*}", browse.log, name="web-log"),
        web.get(_REPO + "/commit/{commit}", commits.commit, name="web-commit"),
        web.get(_REPO + "/compare/{spec:.*}", commits.compare, name="web-compare"),
    ]


@functools.cache
def _css() -> bytes:
    # The one stylesheet: the site's rules, then the highlighting classes' light and dark
    # colours generated from Pygments' styles (under `.hl`).
    return ((STATIC / "style.css").read_text() + "\n" + stylesheet()).encode()


async def style(request: web.Request) -> web.StreamResponse:
    return web.Response(
        body=_css(),
        content_type="text/css",
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )
