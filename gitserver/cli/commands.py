"""CLI command handlers: parse arguments, call one service, shape the result."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auth import credentials, identities, policies, simulation
from auth.owned import OwnedKind
from auth.policy import PolicyKind
from gitserver import audit, datadir
from gitserver.cli.output import CommandError, Output, Result, table
from gitserver.config import Settings
from gitserver.db import Repository
from gitserver.gitcmd import watch_children_with_pidfd
from gitserver.services import Services, bootstrap_admin
from gitserver.store import maintenance, repositories
from gitserver.store.reconcile import Reconciler
from triggers import outbox

if TYPE_CHECKING:
    from gitserver.app import Server

Handler = Callable[[Settings, argparse.Namespace, Output], Awaitable[Result | None]]
CLI_ACTOR = "cli"


@contextlib.asynccontextmanager
async def open_services(settings: Settings, *, create: bool = False) -> AsyncIterator[Services]:
    """The services of one CLI command, the schema brought up to date first.

    Only `serve` and `db upgrade` pass `create`: any other command run from the wrong
    directory must say so instead of answering from a new, empty data directory.
    """
    if not create:
        datadir.require_existing(settings.data, settings.effective_database_url)
    services = Services.build(settings)
    try:
        await services.db.upgrade()
        yield services
    finally:
        await services.close()


_services = open_services


async def serve(settings: Settings, args: argparse.Namespace, out: Output) -> None:
    from gitserver.app import ListenError, Server  # aiohttp is only needed here

    watch_children_with_pidfd()
    datadir.make_private(settings.data)
    with datadir.serving_lock(settings.data, settings.effective_database_url):
        async with _services(settings, create=True) as services:
            server = Server(services)
            try:
                await server.start()
            except ListenError as exc:
                raise CommandError(str(exc)) from None
            datadir.make_private(settings.data)  # what start wrote (hook scripts are 0755)
            # After the ports are bound: a start that fails must not use up the one
            # announcement of admin's password.
            try:
                password = await bootstrap_admin(services)
            except BaseException:
                await server.stop()
                raise
            if password:
                out.say(f"Created user admin with password: {password}")
                out.say(f"(also written to {settings.data / 'initial-admin-password'}, mode 0600)")
            await _serve_until_stopped(settings, server, out)


async def _serve_until_stopped(settings: Settings, server: Server, out: Output) -> None:
    """Announce the bound addresses, then serve until SIGINT or SIGTERM."""
    host, _ = settings.http_address
    scheme = "https" if settings.tls_cert else "http"
    out.say(f"gitserver: HTTP listening on {scheme}://{host}:{server.http_port}")
    if server.ssh is not None:
        ssh_host, _ = settings.ssh_address
        shown = f"[{ssh_host}]" if ":" in ssh_host else ssh_host
        out.say(f"gitserver: SSH listening on {shown}:{server.ssh_port}")
        for key in server.host_keys:
            out.say(f"gitserver: SSH host key {key.describe()}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    except BaseException:
        await server.stop()
        raise
    await server.shutdown()


async def db_upgrade(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings, create=True):
        return Result({"status": "upgraded"}, "database is at the newest revision")


def _password_from_stdin() -> str:
    # The length rule is `identities`' (the web UI's admin pages set passwords too).
    return sys.stdin.readline().rstrip("\r\n")


async def user_create(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    password = _password_from_stdin() if args.password_stdin else None
    async with _services(settings) as s, s.db.session() as session:
        user = await identities.create_user(session, args.name, admin=args.admin, password=password)
        data = {
            "UserName": user.name,
            "UserId": user.id,
            "Arn": settings.user_arn(user.name),
            "Admin": user.is_admin,
        }
    return Result(data, f"created user {user.name} ({user.id})")


async def user_list(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.reader() as session:
        users = await identities.list_users(session)
    rows = [
        [
            u.name,
            u.user_id,
            "yes" if u.is_admin else "",
            ",".join(u.groups),
            ",".join(f"{k}={v}" for k, v in sorted(u.tags.items())),
        ]
        for u in users
    ]
    return Result(
        {"users": [u.as_json() for u in users]},
        table(rows, ["NAME", "ID", "ADMIN", "GROUPS", "TAGS"]),
    )


async def user_delete(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.session() as session:
        await identities.delete_user(session, args.name)
    return Result({"deleted": args.name}, f"deleted user {args.name}")


async def user_set_password(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    password = _password_from_stdin()
    async with _services(settings) as s, s.db.session() as session:
        await identities.set_password(session, args.name, password)
    return Result({"UserName": args.name}, f"password set for {args.name}")


async def group_create(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.session() as session:
        group = await identities.create_group(session, args.name)
        data = {"GroupName": group.name, "GroupId": group.id}
    return Result(data, f"created group {group.name}")


async def group_list(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.reader() as session:
        groups = await identities.list_groups(session)
    data = {"groups": [{"GroupName": g.name, "GroupId": g.id, "Users": m} for g, m in groups]}
    return Result(data, table([[g.name, ",".join(m)] for g, m in groups], ["GROUP", "USERS"]))


async def group_delete(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.session() as session:
        await identities.delete_group(session, args.name)
    return Result({"deleted": args.name}, f"deleted group {args.name}")


async def group_add_user(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.session() as session:
        await identities.add_user_to_group(session, args.group, args.user)
    return Result(
        {"GroupName": args.group, "UserName": args.user}, f"added {args.user} to {args.group}"
    )


async def group_remove_user(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.session() as session:
        await identities.remove_user_from_group(session, args.group, args.user)
    return Result(
        {"GroupName": args.group, "UserName": args.user}, f"removed {args.user} from {args.group}"
    )


def status_handler(kind: OwnedKind[Any], id_field: str, status: str) -> Handler:
    """`activate` / `deactivate` for a kind of user-owned credential."""

    async def handler(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
        async with _services(settings) as s, s.db.session() as session:
            await kind.set_status(session, args.id, status)
        return Result({id_field: args.id, "Status": status}, f"{args.id}: {status}")

    return handler


def delete_handler(kind: OwnedKind[Any]) -> Handler:
    """`delete` for a kind of user-owned credential."""

    async def handler(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
        async with _services(settings) as s, s.db.session() as session:
            await kind.delete(session, args.id)
        return Result({"deleted": args.id}, f"deleted {args.id}")

    return handler


async def credential_create(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.session() as session:
        new = await credentials.create_git_credential(session, args.name, settings.account_id)
    text = f"username: {new.username}\npassword: {new.password}\n(the password is shown only now)"
    return Result(new.as_json(), text)


async def credential_list(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.reader() as session:
        rows = await credentials.list_git_credentials(session, args.name)
    items = [credentials.credential_json(c, user) for c, user in rows]
    text = table(
        [[i["ServiceSpecificCredentialId"], i["ServiceUserName"], i["Status"]] for i in items],
        ["ID", "USERNAME", "STATUS"],
    )
    return Result({"credentials": items}, text)


async def credential_reset(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.session() as session:
        username, password = await credentials.reset_git_credential(session, args.id)
    return Result(
        {"username": username, "password": password}, f"username: {username}\npassword: {password}"
    )


async def access_key_create(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.session() as session:
        new = await credentials.create_access_key(session, args.name, s.box)
    text = (
        f"AccessKeyId: {new.access_key_id}\nSecretAccessKey: {new.secret_access_key}\n"
        "(the secret is shown only now)"
    )
    return Result(new.as_json(), text)


async def access_key_list(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.reader() as session:
        rows = await credentials.list_access_keys(session, args.name)
    items = [credentials.access_key_json(k, user) for k, user in rows]
    text = table(
        [[i["AccessKeyId"], i["UserName"], i["Status"]] for i in items], ["ID", "USER", "STATUS"]
    )
    return Result({"AccessKeyMetadata": items}, text)


async def repo_create(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s:
        repo = await repositories.create_repository(
            s.db, s.store, args.name, args.description, CLI_ACTOR
        )
        data = _repository_json(s.store, repo)
    return Result(data, f"created {repo.name}\nclone: {data['cloneUrlHttp']}")


async def repo_list(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.reader() as session:
        listed = await repositories.list_repositories(session)
        repos = [_repository_json(s.store, r) for r in listed]
    rows = [[r["repositoryName"], r.get("defaultBranch", ""), r["cloneUrlHttp"]] for r in repos]
    return Result({"repositories": repos}, table(rows, ["NAME", "DEFAULT", "CLONE URL"]))


async def repo_get(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.reader() as session:
        repo = await repositories.get_repository(session, args.name)
        data = _repository_json(s.store, repo)
        data["maintainedAt"] = repositories.iso(repo.maintained_at)
        data["pushedAt"] = repositories.iso(repo.pushed_at)
        data["tags"] = repositories.resource_tags(repo)
    return Result(data, "\n".join(f"{k}: {_readable(v)}" for k, v in data.items()))


def _repository_json(store: repositories.RepositoryStore, repo: Repository) -> dict[str, Any]:
    """The contract's repository metadata with its times in ISO 8601, as every CLI time is.

    The store's metadata carries epoch seconds for the API (botocore's timestamps); the
    CLI's readers are people and scripts that compare with `audit list` and `event list`.
    """
    data = store.metadata(repo)
    data["creationDate"] = repositories.iso(repo.created_at)
    data["lastModifiedDate"] = repositories.iso(repo.updated_at)
    return data


def _readable(value: Any) -> str:
    """One field for people: tags as `key=value, ...`, nothing as `-`."""
    if value is None or value == "":
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items())) or "-"
    return str(value)


async def repo_delete(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s:
        repo_id = await repositories.delete_repository(s.db, s.store, args.name, CLI_ACTOR)
    data: dict[str, Any] = {"repositoryId": repo_id} if repo_id else {}
    return Result(data, f"deleted {args.name}" if repo_id else f"{args.name} did not exist")


async def repo_reconcile(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s:
        if args.name:
            async with s.db.reader() as session:
                await repositories.get_repository(session, args.name)
        # The CLI runs beside live servers: only rows older than the grace are stale.
        report = await Reconciler(s.db, s.store, settings.prepared_grace).run(args.name)
    data = report.as_json()
    return Result(data, "\n".join(f"{k}: {v}" for k, v in data.items()))


async def repo_maintain(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s:
        async with s.db.reader() as session:
            repo = await repositories.get_repository(session, args.name)
        done = await maintenance.maintain(s.git, s.db, s.store, repo.id, settings.git_timeout)
    if not done:
        raise CommandError(f"maintenance of {args.name} is already running")
    return Result({"repositoryName": args.name, "maintained": True}, f"maintained {args.name}")


async def event_list(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.reader() as session:
        events = await outbox.list_events(
            session, repository=args.repo, after=args.after, limit=args.limit
        )
    items = [{"seq": seq, **event.envelope()} for seq, event in events]
    rows = [[str(i["seq"]), i["time"], i["type"], i["repository"] or "", i["actor"]] for i in items]
    return Result({"events": items}, table(rows, ["SEQ", "TIME", "TYPE", "REPOSITORY", "ACTOR"]))


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return audit.parse_time(value)
    except ValueError as exc:
        raise CommandError(f"--since: {exc}") from None


async def audit_list(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    if args.limit < 1:
        raise CommandError("--limit must be at least 1")
    query = audit.AuditQuery(_since(args.since), args.user, args.action, args.limit)
    async with _services(settings) as s, s.db.reader() as session:
        records = await audit.list_records(session, query)
    items = [audit.record_json(record) for record in records]
    rows = [
        [
            i["eventTime"],
            i["userName"],
            i["action"],
            i["decision"],
            i["transport"],
            i["sourceIPAddress"],
            i["resource"],
        ]
        for i in items
    ]
    headers = ["TIME", "USER", "ACTION", "DECISION", "TRANSPORT", "SOURCE IP", "RESOURCE"]
    return Result({"events": items}, table(rows, headers))


def _read_key_file(name: str) -> str:
    try:
        return sys.stdin.read() if name == "-" else Path(name).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {name}: {exc}") from None


async def ssh_key_add(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    from auth import sshkeys

    text = _read_key_file(args.key_file)
    async with _services(settings) as s, s.db.session() as session:
        key = await sshkeys.add_ssh_key(session, args.name, text)
        data = sshkeys.ssh_key_json(key, args.name)
    return Result(data, f"SSHPublicKeyId: {key.id}\nfingerprint: {key.fingerprint_sha256}")


async def ssh_key_list(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    from auth import sshkeys

    async with _services(settings) as s, s.db.reader() as session:
        rows = await sshkeys.list_ssh_keys(session, args.name)
    items = [sshkeys.ssh_key_json(key, user) for key, user in rows]
    text = table(
        [[str(i["SSHPublicKeyId"]), str(i["UserName"]), str(i["Status"])] for i in items],
        ["ID", "USER", "STATUS"],
    )
    return Result({"SSHPublicKeys": items}, text)


async def ssh_host_fingerprints(
    settings: Settings, args: argparse.Namespace, out: Output
) -> Result:
    from gitserver.transport.hostkeys import host_keys_dir, load_host_keys

    datadir.require_existing(settings.data, settings.effective_database_url)
    keys = await asyncio.to_thread(load_host_keys, host_keys_dir(settings.data))
    base = urllib.parse.urlsplit(settings.public_ssh_base)
    host, port = base.hostname or "127.0.0.1", base.port or 22
    items = [key.as_json(host, port) for key in keys]
    lines = [
        f"{key.describe()}\n  {item['knownHostsLine']}"
        for key, item in zip(keys, items, strict=True)
    ]
    return Result({"hostKeys": items}, "\n".join(lines))


def _read_document(name: str) -> str:
    try:
        return sys.stdin.read() if name == "-" else Path(name).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {name}: {exc}") from None


async def _on_owner(
    settings: Settings,
    args: argparse.Namespace,
    operation: Callable[..., Awaitable[None]],
    *extra: str,
) -> None:
    """Run a policy operation on the user or group `args.owner_type` names."""
    owner_type = policies.OWNER_TYPES[args.owner_type]
    async with _services(settings) as s, s.db.session() as session:
        await operation(session, owner_type, args.owner, args.policy_name, *extra)


def _owner_result(args: argparse.Namespace, text: str) -> Result:
    owner_key = "UserName" if args.owner_type == "user" else "GroupName"
    return Result({owner_key: args.owner, "PolicyName": args.policy_name}, text)


async def policy_put(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    """`put-user-policy` / `put-group-policy`: `args.owner_type` says which."""
    document = _read_document(args.document)
    await _on_owner(settings, args, policies.put_inline_policy, document)
    return _owner_result(args, f"put {args.owner_type} policy {args.policy_name} on {args.owner}")


async def policy_delete(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    await _on_owner(settings, args, policies.delete_inline_policy)
    return Result(
        {"deleted": args.policy_name}, f"deleted policy {args.policy_name} of {args.owner}"
    )


async def policy_attach(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    await _on_owner(settings, args, policies.attach_policy)
    return _owner_result(args, f"attached {args.policy_name} to {args.owner_type} {args.owner}")


async def policy_detach(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    await _on_owner(settings, args, policies.detach_policy)
    return Result(
        {"detached": args.policy_name},
        f"detached {args.policy_name} from {args.owner_type} {args.owner}",
    )


async def policy_list_managed(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.reader() as session:
        items = await policies.list_managed(session, settings.account_id)
    rows = [
        [i.name, "builtin" if i.builtin else "customer", f"v{i.default_version}"] for i in items
    ]
    return Result(
        {"policies": [i.as_json() for i in items]}, table(rows, ["NAME", "TYPE", "DEFAULT"])
    )


async def policy_create(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    document = _read_document(args.document)
    async with _services(settings) as s, s.db.session() as session:
        policy = await policies.create_policy(session, args.name, document)
        data = {
            "PolicyName": policy.name,
            "PolicyId": policy.id,
            "Arn": f"arn:aws:iam::{settings.account_id}:policy/{policy.name}",
            "DefaultVersionId": "v1",
        }
    return Result(data, f"created policy {args.name} (v1)")


async def policy_create_version(
    settings: Settings, args: argparse.Namespace, out: Output
) -> Result:
    document = _read_document(args.document)
    async with _services(settings) as s, s.db.session() as session:
        version = await policies.create_policy_version(
            session, args.name, document, set_default=args.set_default
        )
    data = {
        "PolicyName": args.name,
        "VersionId": f"v{version}",
        "IsDefaultVersion": args.set_default,
    }
    return Result(data, f"created {args.name} v{version}")


async def policy_list(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    async with _services(settings) as s, s.db.reader() as session:
        entries = await policies.list_policies(session, user=args.user, group=args.group)
    rows = [[f"{e.owner_type}/{e.owner}", e.name, e.kind] for e in entries]
    return Result(
        {"policies": [e.as_json() for e in entries]}, table(rows, ["OWNER", "POLICY", "KIND"])
    )


async def policy_validate(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    document = _read_document(args.document)
    policies.validate_document(document, PolicyKind(args.kind))
    return Result({"valid": True}, "valid")


async def policy_simulate(settings: Settings, args: argparse.Namespace, out: Output) -> Result:
    context = simulation.simulation_context(args.context or [])
    async with _services(settings) as s, s.db.reader() as session:
        decision = await simulation.simulate(
            session, args.user, args.action, args.resource, context, settings.account_id
        )
    return Result(simulation.simulation_json(decision), simulation.simulation_text(decision))
