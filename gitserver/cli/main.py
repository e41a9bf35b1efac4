"""`gitserver`: the command line. Parses, calls one service, prints text or one JSON object."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from auth.owned import ACCESS_KEYS, GIT_CREDENTIALS, SSH_KEYS
from auth.policy import PolicyKind
from gitserver import datadir, logs
from gitserver import errors as category
from gitserver.cli import (
    backups,
    commands,
    pipelines,
    policy_versions,
    protection,
    statuses,
    tagging,
    webhooks,
)
from gitserver.cli.output import CommandError, Output
from gitserver.cli.webhooks import DELIVERY_SETTINGS, PIPELINE_SETTINGS
from gitserver.config import ConfigError, add_arguments, load_settings
from gitserver.datadir import DataDirError
from gitserver.gitcmd import GitError
from gitserver.store.errors import RepositoryNotFound

COMMON = (
    "data",
    "database_url",
    "base_url",
    "ssh_base_url",
    "http",
    "ssh",
    "region",
    "account_id",
    "log_level",
    "log_format",
)
SERVE = (
    "no_ssh",
    "ssh_idle_timeout",
    "ssh_session_timeout",
    "ssh_max_sessions",
    "ssh_max_sessions_per_user",
    "ssh_max_connections",
    "ssh_max_connections_per_ip",
    "ssh_login_timeout",
    "http_header_timeout",
    "http_body_idle_timeout",
    "http_max_connections",
    "http_max_connections_per_ip",
    "http_max_git_processes",
    "http_max_git_processes_per_user",
    "tls_cert",
    "tls_key",
    "workers",
    "webhook_allowed_hosts",
    "webhook_retry_schedule",
    "webhook_retry_window",
    "trigger_targets",
    *DELIVERY_SETTINGS[3:],
    "trusted_proxies",
    "git_timeout",
    "max_upload_request",
    "pack_cache_max_bytes",
    "pack_cache_max_age",
    "response_cache",
    "max_push_commands",
    "reconcile_interval",
    "shutdown_timeout",
    "prepared_grace",
    "maintenance_delay",
    "maintenance",
    "audit_retention_days",
    *PIPELINE_SETTINGS,
    "api_prefix",
    "api_regions",
    "max_api_request",
    "api_page_size",
    "max_file_size",
    "secret_scanning",
)


CRED_ID = "ServiceSpecificCredentialId"


def _common(parser: argparse.ArgumentParser) -> None:
    add_arguments(parser, COMMON)
    parser.add_argument("--config", default=argparse.SUPPRESS, help="gitserver.toml to read")
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print one JSON object on stdout",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gitserver", description=__doc__)
    _common(parser)
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")

    def leaf(sub: Any, name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        command: argparse.ArgumentParser = sub.add_parser(
            name, help=help_text, description=help_text
        )
        _common(command)
        command.set_defaults(handler=handler)
        return command

    serve = leaf(groups, "serve", commands.serve, "run the server")
    add_arguments(serve, SERVE)

    db = groups.add_parser("db", help="database maintenance").add_subparsers(required=True)
    leaf(db, "upgrade", commands.db_upgrade, "apply database migrations")

    user = groups.add_parser("user", help="users").add_subparsers(required=True)
    c = leaf(user, "create", commands.user_create, "create a user")
    c.add_argument("name")
    c.add_argument("--admin", action="store_true", help="full access and identity management")
    c.add_argument("--password-stdin", action="store_true", help="read a password from stdin")
    leaf(user, "list", commands.user_list, "list users")
    leaf(user, "delete", commands.user_delete, "delete a user").add_argument("name")
    c = leaf(user, "set-password", commands.user_set_password, "set a password from stdin")
    c.add_argument("name")
    leaf(user, "get", tagging.user_get, "show a user and its tags").add_argument("name")
    _tag_commands(user, leaf, tagging.user_tag, tagging.user_untag, "a user")

    group = groups.add_parser("group", help="groups").add_subparsers(required=True)
    leaf(group, "create", commands.group_create, "create a group").add_argument("name")
    leaf(group, "list", commands.group_list, "list groups and members")
    leaf(group, "delete", commands.group_delete, "delete a group").add_argument("name")
    membership: list[tuple[str, commands.Handler]] = [
        ("add-user", commands.group_add_user),
        ("remove-user", commands.group_remove_user),
    ]
    for name, handler in membership:
        c = leaf(group, name, handler, f"{name.replace('-', ' ')} to/from a group")
        c.add_argument("group")
        c.add_argument("user")

    cred = groups.add_parser("credential", help="HTTPS Git credentials").add_subparsers(
        required=True
    )
    leaf(cred, "create", commands.credential_create, "create a Git credential").add_argument("name")
    leaf(cred, "list", commands.credential_list, "list Git credentials").add_argument(
        "name", nargs="?"
    )
    credential_commands: list[tuple[str, commands.Handler]] = [
        ("delete", commands.delete_handler(GIT_CREDENTIALS)),
        ("activate", commands.status_handler(GIT_CREDENTIALS, CRED_ID, "Active")),
        ("deactivate", commands.status_handler(GIT_CREDENTIALS, CRED_ID, "Inactive")),
        ("reset", commands.credential_reset),
    ]
    for name, handler in credential_commands:
        leaf(cred, name, handler, f"{name} a Git credential").add_argument("id")

    key = groups.add_parser("access-key", help="SigV4 access keys").add_subparsers(required=True)
    leaf(key, "create", commands.access_key_create, "create an access key").add_argument("name")
    leaf(key, "list", commands.access_key_list, "list access keys").add_argument("name", nargs="?")
    key_commands: list[tuple[str, commands.Handler]] = [
        ("delete", commands.delete_handler(ACCESS_KEYS)),
        ("activate", commands.status_handler(ACCESS_KEYS, "AccessKeyId", "Active")),
        ("deactivate", commands.status_handler(ACCESS_KEYS, "AccessKeyId", "Inactive")),
    ]
    for name, handler in key_commands:
        leaf(key, name, handler, f"{name} an access key").add_argument("id")

    ssh = groups.add_parser("ssh-key", help="SSH public keys").add_subparsers(required=True)
    c = leaf(ssh, "add", commands.ssh_key_add, "upload a user's SSH public key")
    c.add_argument("name")
    c.add_argument("--key-file", required=True, help="the public key (.pub); '-' for stdin")
    leaf(ssh, "list", commands.ssh_key_list, "list SSH public keys").add_argument("name", nargs="?")
    ssh_commands: list[tuple[str, commands.Handler]] = [
        ("delete", commands.delete_handler(SSH_KEYS)),
        ("activate", commands.status_handler(SSH_KEYS, "SSHPublicKeyId", "Active")),
        ("deactivate", commands.status_handler(SSH_KEYS, "SSHPublicKeyId", "Inactive")),
    ]
    for name, handler in ssh_commands:
        leaf(ssh, name, handler, f"{name} an SSH public key").add_argument("id")
    leaf(
        ssh,
        "host-fingerprints",
        commands.ssh_host_fingerprints,
        "the server's SSH host keys, fingerprints and known_hosts lines",
    )

    policy = groups.add_parser("policy", help="identity policies").add_subparsers(required=True)
    owner_commands: list[tuple[str, commands.Handler, bool]] = [
        ("put-{}-policy", commands.policy_put, True),
        ("delete-{}-policy", commands.policy_delete, False),
        ("attach-{}-policy", commands.policy_attach, False),
        ("detach-{}-policy", commands.policy_detach, False),
    ]
    for pattern, handler, takes_document in owner_commands:
        for owner_type in ("user", "group"):
            name = pattern.format(owner_type)
            c = leaf(policy, name, handler, name.replace("-", " "))
            c.set_defaults(owner_type=owner_type)
            c.add_argument("owner", metavar=owner_type.upper())
            c.add_argument("policy_name", metavar="POLICY_NAME")
            if takes_document:
                c.add_argument("--document", required=True, help="the JSON document; '-' for stdin")
    leaf(policy, "list-managed", commands.policy_list_managed, "built-in and customer policies")
    c = leaf(policy, "create", commands.policy_create, "create a customer-managed policy (v1)")
    c.add_argument("name")
    c.add_argument("--document", required=True, help="the JSON document; '-' for stdin")
    c = leaf(policy, "create-version", commands.policy_create_version, "add a policy version")
    c.add_argument("name")
    c.add_argument("--document", required=True, help="the JSON document; '-' for stdin")
    c.add_argument("--set-default", action="store_true", help="make it the version in force")
    c = leaf(policy, "delete", policy_versions.policy_delete_managed, "delete an unattached policy")
    c.add_argument("name")
    leaf(
        policy, "list-versions", policy_versions.policy_list_versions, "a policy's versions"
    ).add_argument("name")
    versioned: list[tuple[str, commands.Handler, str]] = [
        (
            "set-default-version",
            policy_versions.policy_set_default_version,
            "make it the one in force",
        ),
        ("delete-version", policy_versions.policy_delete_version, "delete a non-default version"),
    ]
    for name, handler, help_text in versioned:
        c = leaf(policy, name, handler, help_text)
        c.add_argument("name")
        c.add_argument("version", metavar="VERSION", help="v1, v2, ... (or 1, 2, ...)")
    c = leaf(policy, "list", commands.policy_list, "inline and attached policies")
    owner = c.add_mutually_exclusive_group()
    owner.add_argument("--user")
    owner.add_argument("--group")
    c = leaf(policy, "validate", commands.policy_validate, "validate a policy document")
    c.add_argument("--document", required=True, help="the JSON document; '-' for stdin")
    c.add_argument(
        "--kind",
        choices=[kind.value for kind in PolicyKind],
        default=PolicyKind.MANAGED.value,
        help="where it would be attached (decides the size limit)",
    )
    c = leaf(policy, "simulate", commands.policy_simulate, "decide a request for a user")
    c.add_argument("--user", required=True)
    c.add_argument("--action", required=True)
    c.add_argument("--resource", required=True)
    c.add_argument(
        "--context",
        action="append",
        metavar="KEY=VALUE",
        help="a condition key; repeat a key for a list of values",
    )

    repo = groups.add_parser("repo", help="repositories").add_subparsers(required=True)
    c = leaf(repo, "create", commands.repo_create, "create a repository")
    c.add_argument("name")
    c.add_argument("--description", default="")
    leaf(repo, "list", commands.repo_list, "list repositories")
    leaf(repo, "get", commands.repo_get, "show a repository").add_argument("name")
    leaf(repo, "delete", commands.repo_delete, "delete a repository").add_argument("name")
    _tag_commands(repo, leaf, tagging.repo_tag, tagging.repo_untag, "a repository")
    leaf(
        repo, "reconcile", commands.repo_reconcile, "record ref changes the server missed"
    ).add_argument("name", nargs="?")
    leaf(repo, "maintain", commands.repo_maintain, "repack and index now").add_argument("name")
    statuses.add_repo_commands(repo, leaf)
    protection.add_repo_commands(repo, leaf)
    event = groups.add_parser("event", help="the event outbox").add_subparsers(required=True)
    c = leaf(event, "list", commands.event_list, "list stored events, oldest first")
    c.add_argument("--repo", help="only events of this repository")
    c.add_argument("--after", type=int, default=0, help="only events after this sequence number")
    c.add_argument("--limit", type=int, default=1000)
    webhooks.add_commands(groups, leaf)
    statuses.add_commands(groups, leaf)
    pipelines.add_commands(groups, leaf)
    backups.add_commands(groups, leaf)
    audit = groups.add_parser("audit", help="the audit log").add_subparsers(required=True)
    c = leaf(audit, "list", commands.audit_list, "list audit records, newest first")
    c.add_argument("--since", help="only records at or after this ISO 8601 time (UTC if no zone)")
    c.add_argument("--user", help="only decisions about this user")
    c.add_argument("--action", help="only this action, e.g. GitPush or codecommit:GitPush")
    c.add_argument("--limit", type=int, default=100)
    return parser


def _tag_commands(
    sub: Any, leaf: Any, tag: commands.Handler, untag: commands.Handler, what: str
) -> None:
    c = leaf(sub, "tag", tag, f"add or replace tags of {what}")
    c.add_argument("name")
    c.add_argument("tags", nargs="+", metavar="KEY=VALUE")
    c = leaf(sub, "untag", untag, f"remove tags of {what}")
    c.add_argument("name")
    c.add_argument("keys", nargs="+", metavar="KEY")


def main(argv: Sequence[str] | None = None) -> int:
    datadir.use_private_umask()  # before anything (or any git) creates a file
    args = build_parser().parse_args(argv)
    flags = vars(args)
    as_json = bool(flags.pop("json", False))
    output = Output(as_json)
    try:
        settings = load_settings(flags)
    except ConfigError as exc:
        return output.fail(f"configuration: {exc}")
    logs.configure(settings.log_level, settings.log_format)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # a few lines per connection
    try:
        result = asyncio.run(args.handler(settings, args, output))
    except category.DomainError as exc:
        where = ""
        if isinstance(exc, category.NotFound):
            where = datadir.where(settings.data, settings.effective_database_url)
        return output.fail(_shown(exc, where), CLI_EXIT[category.category_of(exc)])
    except (CommandError, DataDirError) as exc:
        return output.fail(str(exc))
    except GitError as exc:
        logging.getLogger(__name__).error("git failed: %s", exc.stderr[-2000:])
        return output.fail(str(exc))
    except KeyboardInterrupt:
        return 130
    if result is not None:
        output.emit(result)
    return 0


# 1 for every refusal (argparse's usage errors are 2): scripts test for non-zero, and
# the message says which kind it was.
CLI_EXIT: dict[type[category.DomainError], int] = {
    category.NotFound: 1,
    category.AlreadyExists: 1,
    category.Conflict: 1,
    category.InvalidInput: 1,
    category.LimitExceeded: 1,
    category.AccessDenied: 1,
    category.AuthenticationFailed: 1,
}
"""The CLI's one mapping of domain errors (see `gitserver.errors`)."""


def _shown(error: category.DomainError, where: str) -> str:
    """The one-line message; "not found" says where it looked, the wrong data
    directory being the usual cause."""
    what = str(error)
    if not isinstance(error, category.NotFound):
        return what
    if isinstance(error, RepositoryNotFound) and not what.startswith("repository"):
        what = f"repository {what}"
    return f"{what} {where}"


def dumps(value: Any) -> str:
    return json.dumps(value, indent=None, sort_keys=False, default=str)
