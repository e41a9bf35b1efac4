"""The web UI's routes, mounted by `Server.app()` beside git, the API, /healthz and /metrics.

Every route is named `web-...`: the middleware (sessions, CSRF, error pages, security
headers) acts on those and leaves git's and the API's answers alone.
"""

from __future__ import annotations

import functools

from aiohttp import web

from gitserver.web import (
    account,
    admin_audit,
    admin_groups,
    admin_policies,
    admin_users,
    adminauth,
    approval_templates,
    browse,
    commits,
    notification_rules,
    pipeline_forms,
    pipelines,
    pull_forms,
    pull_new,
    pulls,
    repo_protection,
    repo_settings,
    repos,
    selfservice,
    webhooks,
)
from gitserver.web.context import DEPS, WebDeps
from gitserver.web.highlight import stylesheet
from gitserver.web.middleware import SIGN_IN_ROUTE, security_headers, web_middleware
from gitserver.web.pages import STATIC

_REPO = "/repositories/{name}"
_PRS = _REPO + "/pull-requests"
_PR = _PRS + r"/{id:\d+}"
_PIPELINE = "/pipelines/{pipeline}"
_EXECUTION = _PIPELINE + "/executions/{execution}"
_LOG = _EXECUTION + "/log/{stage}/{action}"


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
        *_self_service(),
        *_admin(),
        web.get(_REPO, repos.repository_home, name="web-repository"),
        web.get(_REPO + "/tree/{tail:.*}", browse.tree, name="web-tree"),
        web.get(_REPO + "/blob/{tail:.*}", browse.blob, name="web-blob"),
        web.get(_REPO + "/raw/{tail:.*}", browse.raw, name="web-raw"),
        web.get(_REPO + "/history/{tail:.*}", browse.history, name="web-history"),
        web.get(_REPO + "/blame/{tail:.*}", browse.blame, name="web-blame"),
        web.get(_REPO + "/log/{tail:.*}", browse.log, name="web-log"),
        web.get(_REPO + "/commit/{commit}", commits.commit, name="web-commit"),
        web.get(_REPO + "/compare/{spec:.*}", commits.compare, name="web-compare"),
        *_pull_request_routes(),
        *_pipeline_routes(),
        *_webhooks(),
        *_repository_rules(),
        web.get(_REPO + "/settings", repo_settings.settings_page, name="web-repo-settings"),
        web.post(
            _REPO + "/settings/description",
            repo_settings.set_description,
            name="web-repo-description",
        ),
        web.post(
            _REPO + "/settings/default-branch",
            repo_settings.set_default_branch,
            name="web-repo-default-branch",
        ),
        web.post(
            _REPO + "/settings/required-checks",
            repo_settings.require_status,
            name="web-repo-require-status",
        ),
        web.post(
            _REPO + "/settings/required-checks/remove",
            repo_settings.unrequire_status,
            name="web-repo-unrequire-status",
        ),
        web.post(
            _REPO + "/settings/protected-branches",
            repo_protection.protect,
            name="web-repo-protect",
        ),
        web.post(
            _REPO + "/settings/protected-branches/remove",
            repo_protection.unprotect,
            name="web-repo-unprotect",
        ),
        web.post(
            _REPO + "/settings/push-rules",
            repo_protection.set_push_rules,
            name="web-repo-push-rules",
        ),
    ]


def _pipeline_routes() -> list[web.RouteDef]:
    return [
        web.get("/pipelines", pipelines.pipeline_list, name="web-pipelines"),
        web.get(_REPO + "/pipelines", pipelines.repository_pipelines, name="web-repo-pipelines"),
        web.get(_PIPELINE, pipelines.pipeline, name="web-pipeline"),
        web.post(_PIPELINE + "/start", pipeline_forms.start, name="web-pipeline-start"),
        web.get(_EXECUTION, pipelines.execution, name="web-pipeline-execution"),
        web.post(_EXECUTION + "/approval", pipeline_forms.approve, name="web-pipeline-approve"),
        web.post(_EXECUTION + "/retry", pipeline_forms.retry, name="web-pipeline-retry"),
        web.post(_EXECUTION + "/stop", pipeline_forms.stop, name="web-pipeline-stop"),
        web.get(
            _EXECUTION + "/artifacts/{artifact}.zip",
            pipelines.artifact,
            name="web-pipeline-artifact",
        ),
        web.get(_LOG, pipelines.action_log, name="web-pipeline-log"),
        web.get(_LOG + "/download", pipelines.action_log_text, name="web-pipeline-log-text"),
        web.get(_LOG + "/events", pipelines.action_log_events, name="web-pipeline-log-events"),
    ]


def _pull_request_routes() -> list[web.RouteDef]:
    return [
        web.get(_PRS, pulls.pull_request_list, name="web-pulls"),
        web.get(_PRS + "/new", pull_new.new_form, name="web-pull-new-page"),
        web.post(_PRS + "/new", pull_new.create, name="web-pull-create"),
        web.get(_PR, pulls.pull_request, name="web-pull"),
        web.post(_PR + "/comments", pull_forms.post_comment, name="web-pull-comment"),
        web.post(_PR + "/comments/{comment}/replies", pull_forms.post_reply, name="web-pull-reply"),
        web.post(_PR + "/comments/{comment}", pull_forms.edit_comment, name="web-pull-edit"),
        web.post(
            _PR + "/comments/{comment}/delete", pull_forms.delete_comment, name="web-pull-delete"
        ),
        web.post(_PR + "/comments/{comment}/reaction", pull_forms.react, name="web-pull-react"),
        web.post(_PR + "/approval", pull_forms.set_approval, name="web-pull-approval"),
        web.post(_PR + "/override", pull_forms.override, name="web-pull-override"),
        web.post(_PR + "/status", pull_forms.set_status, name="web-pull-status"),
        web.post(_PR + "/merge", pull_forms.merge, name="web-pull-merge"),
        web.post(
            _PR + "/merge-when-green", pull_forms.merge_when_green, name="web-pull-merge-when-green"
        ),
        web.post(
            _PR + "/merge-when-green/cancel",
            pull_forms.cancel_merge_when_green,
            name="web-pull-merge-when-green-cancel",
        ),
    ]


def _webhooks() -> list[web.RouteDef]:
    hooks = _REPO + "/settings/webhooks"
    one = hooks + "/{id}"
    return [
        web.get(hooks, webhooks.webhook_list, name="web-webhooks"),
        web.post(hooks, webhooks.create_webhook, name="web-webhook-add"),
        web.get(one, webhooks.deliveries, name="web-webhook"),
        web.post(one + "/edit", webhooks.edit_webhook, name="web-webhook-edit"),
        web.post(one + "/delete", webhooks.delete_webhook, name="web-webhook-delete"),
        web.post(one + "/test", webhooks.test_webhook, name="web-webhook-test"),
        web.post(
            one + "/deliveries/{delivery}/redeliver",
            webhooks.redeliver,
            name="web-webhook-redeliver",
        ),
    ]


def _repository_rules() -> list[web.RouteDef]:
    rules = _REPO + "/settings/notifications"
    templates = _REPO + "/settings/approval-templates"
    return [
        web.get(rules, notification_rules.rule_list, name="web-notifications"),
        web.post(rules, notification_rules.create_rule, name="web-notification-add"),
        web.post(
            rules + "/{id}/delete",
            notification_rules.delete_rule,
            name="web-notification-delete",
        ),
        web.get(templates, approval_templates.template_list, name="web-approval-templates"),
        web.post(templates, approval_templates.associate, name="web-approval-template-associate"),
        web.post(
            templates + "/disassociate",
            approval_templates.disassociate,
            name="web-approval-template-disassociate",
        ),
    ]


def _self_service() -> list[web.RouteDef]:
    ssh, cred = selfservice.SSH_PAGE, selfservice.CREDENTIALS_PAGE
    return [
        web.get(ssh, selfservice.ssh_keys, name="web-ssh-keys"),
        web.post(ssh, selfservice.add_ssh_key, name="web-ssh-key-add"),
        web.post(ssh + "/{id}/status", selfservice.ssh_key_status, name="web-ssh-key-status"),
        web.post(ssh + "/{id}/delete", selfservice.delete_ssh_key, name="web-ssh-key-delete"),
        web.get(cred, selfservice.credentials_page, name="web-credentials"),
        web.post(cred + "/git", selfservice.create_git_credential, name="web-git-credential-add"),
        web.post(
            cred + "/git/{id}/status",
            selfservice.git_credential_status,
            name="web-git-credential-status",
        ),
        web.post(
            cred + "/git/{id}/delete",
            selfservice.delete_git_credential,
            name="web-git-credential-delete",
        ),
        web.post(cred + "/keys", selfservice.create_access_key, name="web-access-key-add"),
        web.post(
            cred + "/keys/{id}/status", selfservice.access_key_status, name="web-access-key-status"
        ),
        web.post(
            cred + "/keys/{id}/delete", selfservice.delete_access_key, name="web-access-key-delete"
        ),
    ]


def _admin() -> list[web.RouteDef]:
    users, user = admin_users.USERS, admin_users.USERS + "/{user}"
    groups, group = admin_groups.GROUPS, admin_groups.GROUPS + "/{group}"
    policy = admin_policies.POLICIES + "/{policy}"
    return [
        web.get(adminauth.ADMIN, adminauth.admin_home, name="web-admin"),
        web.get(users, admin_users.user_list, name="web-admin-users"),
        web.post(users, admin_users.create_user, name="web-admin-user-create"),
        web.get(user, admin_users.user_detail, name="web-admin-user"),
        web.post(user + "/delete", admin_users.delete_user, name="web-admin-user-delete"),
        web.post(user + "/policies", admin_users.attach_policy, name="web-admin-user-attach"),
        web.post(
            user + "/policies/detach", admin_users.detach_policy, name="web-admin-user-detach"
        ),
        web.post(user + "/groups", admin_users.join_group, name="web-admin-user-join"),
        web.post(user + "/groups/remove", admin_users.leave_group, name="web-admin-user-leave"),
        web.get(groups, admin_groups.group_list, name="web-admin-groups"),
        web.post(groups, admin_groups.create_group, name="web-admin-group-create"),
        web.get(group, admin_groups.group_detail, name="web-admin-group"),
        web.post(group + "/delete", admin_groups.delete_group, name="web-admin-group-delete"),
        web.post(group + "/policies", admin_groups.attach_policy, name="web-admin-group-attach"),
        web.post(
            group + "/policies/detach", admin_groups.detach_policy, name="web-admin-group-detach"
        ),
        web.post(group + "/members", admin_groups.add_member, name="web-admin-group-add"),
        web.post(
            group + "/members/remove", admin_groups.remove_member, name="web-admin-group-remove"
        ),
        web.get(admin_policies.POLICIES, admin_policies.policy_list, name="web-admin-policies"),
        web.post(
            admin_policies.POLICIES, admin_policies.create_policy, name="web-admin-policy-create"
        ),
        # Before `{policy}`: "new" is the creation form, not a policy's name.
        web.get(admin_policies.NEW, admin_policies.new_policy, name="web-admin-policy-new"),
        web.get(policy, admin_policies.policy_detail, name="web-admin-policy"),
        web.post(policy, admin_policies.update_policy, name="web-admin-policy-update"),
        web.get(admin_policies.SIMULATE, admin_policies.simulate, name="web-admin-simulate"),
        web.get(admin_audit.AUDIT, admin_audit.audit_log, name="web-admin-audit"),
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
